package magicpig.wire;

/** What the bytes of a {@link BlockChunk} transfer are; each kind is one array of one block. */
public enum PayloadKind {
    /** Centered keys after RoPE, f32 x headDim per token. */
    KEYS(1),
    /** Values, f32 x headDim per token. */
    VALUES(2),
    /** SimHash codes of the centered keys, u16 x L per token. */
    CODES(3),
    /** |k - c| per token, f32. */
    KEY_NORMS(4),
    /** The centering mean c of the (layer, kv head), f32 x headDim. */
    CENTERING_MEAN(5),
    /**
     * What a shard needs to index a block's heads: the model shape and the LSH settings of the
     * sequence ({@link BlockParams}, {@value BlockParams#LENGTH} bytes); once per block, before its
     * keys. The chunk's layer and kv head are 0.
     */
    BLOCK_PARAMS(6);

    private static final PayloadKind[] BY_CODE = new PayloadKind[7];

    static {
        for (PayloadKind kind : values()) {
            BY_CODE[kind.code] = kind;
        }
    }

    private final int code;

    PayloadKind(int code) {
        this.code = code;
    }

    /** The byte that stands for this kind on the wire. */
    public int code() {
        return code;
    }

    /** The kind of a wire code, or null when the code is not one (no allocation, no exception). */
    public static PayloadKind fromCode(int code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
