package magicpig.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * GPT-2-style byte-level BPE, the tokenizer of Llama 3: GGUF {@code tokenizer.ggml.model = "gpt2"}
 * and Hugging Face tokenizer.json files with a ByteLevel BPE model.
 *
 * <p>Encoding: optional BOS; special-token texts are cut out of the text first (see
 * {@link Tokenizer#encode(String, boolean, boolean)}); each remaining run is split into pre-tokens
 * by the {@link PreTokenizer}; each pre-token's UTF-8 bytes are spelled in GPT-2's
 * {@link ByteLevelAlphabet}, one symbol per byte, and adjacent symbols merge by the merges list,
 * the earliest-listed merge first, the leftmost among equals, until none applies. With
 * ignoreMerges (Llama 3) a pre-token that is itself a vocabulary piece is that one token, as
 * Hugging Face's {@code ignore_merges} and llama.cpp do.
 *
 * <p>End of text: the configured eos plus, when the vocabulary has them, {@code <|end_of_text|>},
 * {@code <|eot_id|>} and {@code <|eom_id|>}.
 */
public final class ByteLevelBpeTokenizer implements Tokenizer {

    /** Pieces that end generation whenever the vocabulary has them (Llama 3's end of text, turn and message). */
    public static final List<String> END_PIECES = List.of("<|end_of_text|>", "<|eot_id|>", "<|eom_id|>");

    /** Pre-token encodings kept for reuse; cleared when it grows past this many. */
    private static final int CACHE_LIMIT = 1 << 16;

    private final String[] tokens;
    private final int[] types;
    private final byte[][] bytes;
    private final Map<String, Integer> ids;
    /** Token of each byte's one-character piece, or -1. */
    private final int[] byteTokens = new int[256];
    private final Map<Long, MergeRule.Merge> merges;
    private final MergeRule rule;
    private final int bos;
    private final int eos;
    private final int unk;
    private final boolean[] endOfText;
    private final PreTokenizer preTokenizer;
    private final boolean ignoreMerges;
    private final SpecialTokens specials;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private ByteLevelBpeTokenizer(String[] tokens, List<MergePair> mergeList, int[] tokenTypes, int bos, int eos,
                                  PreTokenizer preTokenizer, boolean ignoreMerges) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("empty vocabulary");
        checkId("bos", bos, n);
        checkId("eos", eos, n);
        this.tokens = tokens.clone();
        for (int i = 0; i < n; i++)
            if (this.tokens[i] == null) throw new IllegalArgumentException("token " + i + " is null");
        this.types = tokenTypes != null ? TokenType.checked(tokenTypes, n) : inferTypes(this.tokens, bos, eos);
        this.bos = bos;
        this.eos = eos;
        this.preTokenizer = preTokenizer;
        this.ignoreMerges = ignoreMerges;
        this.ids = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) ids.putIfAbsent(this.tokens[i], i);
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.valueOf(ByteLevelAlphabet.charOf(b)));
            byteTokens[b] = id == null ? -1 : id;
        }
        int unknown = -1;
        for (int i = 0; i < n && unknown < 0; i++) if (types[i] == TokenType.UNKNOWN) unknown = i;
        this.unk = unknown;
        this.merges = new HashMap<>(mergeList.size() * 2);
        for (int rank = 0; rank < mergeList.size(); rank++) {
            MergePair m = mergeList.get(rank);
            Integer l = ids.get(m.left()), r = ids.get(m.right()), merged = ids.get(m.merged());
            // A merge naming pieces the vocabulary lacks can never apply; the first listing of a pair counts.
            if (l == null || r == null || merged == null) continue;
            merges.putIfAbsent(MergeRule.pairKey(l, r), new MergeRule.Merge(merged, -rank));
        }
        this.rule = (left, right) -> merges.get(MergeRule.pairKey(left, right));
        this.endOfText = new boolean[n];
        if (eos >= 0) endOfText[eos] = true;
        for (String piece : END_PIECES) {
            Integer id = ids.get(piece);
            if (id != null) endOfText[id] = true;
        }
        this.bytes = new byte[n][];
        for (int i = 0; i < n; i++) bytes[i] = decodePiece(i);
        this.specials = new SpecialTokens(this.tokens, types);
    }

    /**
     * A vocabulary as GGUF holds it: {@code tokenizer.ggml.tokens}, {@code .merges} ("left right"
     * strings), {@code .token_type} (null: inferred: bos, eos and {@code <|...|>} pieces control,
     * the rest normal), {@code .bos_token_id}, {@code .eos_token_id} (-1: none) and {@code .pre}
     * (null when absent), which picks the pre-tokenizer ({@link PreTokenizer#forGgufPre}) and, for
     * Llama 3, ignore-merges.
     */
    public static ByteLevelBpeTokenizer fromVocabulary(String[] tokens, String[] merges, int[] tokenTypes,
                                                       int bos, int eos, String ggufPre) {
        return new ByteLevelBpeTokenizer(tokens, MergePair.parseAll(merges), tokenTypes, bos, eos,
                PreTokenizer.forGgufPre(ggufPre), PreTokenizer.isLlama3(ggufPre));
    }

    /** A vocabulary with an explicit pre-tokenizer and ignore-merges setting. */
    public static ByteLevelBpeTokenizer fromVocabulary(String[] tokens, String[] merges, int[] tokenTypes,
                                                       int bos, int eos, PreTokenizer preTokenizer, boolean ignoreMerges) {
        return fromVocabulary(tokens, MergePair.parseAll(merges), tokenTypes, bos, eos, preTokenizer, ignoreMerges);
    }

    /** A vocabulary whose merges are already pairs (tokenizer.json's array form). */
    public static ByteLevelBpeTokenizer fromVocabulary(String[] tokens, List<MergePair> merges, int[] tokenTypes,
                                                       int bos, int eos, PreTokenizer preTokenizer, boolean ignoreMerges) {
        return new ByteLevelBpeTokenizer(tokens, List.copyOf(merges), tokenTypes, bos, eos, preTokenizer, ignoreMerges);
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int bosId() {
        return bos;
    }

    /** The configured end-of-sequence id, or -1. */
    public int eosId() {
        return eos;
    }

    @Override
    public boolean isEndOfText(int token) {
        return token >= 0 && token < endOfText.length && endOfText[token];
    }

    /** Every id that ends generation, ascending. */
    public int[] endOfTextIds() {
        IntList out = new IntList(4);
        for (int i = 0; i < endOfText.length; i++) if (endOfText[i]) out.add(i);
        return out.toArray();
    }

    public PreTokenizer preTokenizer() {
        return preTokenizer;
    }

    public boolean ignoresMerges() {
        return ignoreMerges;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 3 + 2);
        if (addBos && bos >= 0) out.add(bos);
        for (SpecialTokens.Segment segment : specials.split(text, parseSpecial)) {
            if (segment.isToken()) out.add(segment.token());
            else for (String word : preTokenizer.split(segment.text())) out.addAll(encodeWord(word));
        }
        return out.toArray();
    }

    /** The pre-tokens of text, spelled as plain text (for tests and diagnostics). */
    public List<String> preTokens(String text) {
        return new ArrayList<>(preTokenizer.split(text));
    }

    private int[] encodeWord(String word) {
        int[] cached = cache.get(word);
        if (cached != null) return cached;
        int[] encoded = mergeWord(word);
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(word, encoded);
        return encoded;
    }

    private int[] mergeWord(String word) {
        if (ignoreMerges) {
            // ignore_merges: a whole pre-token that is a piece is taken as it is.
            Integer whole = ids.get(ByteLevelAlphabet.spell(word));
            if (whole != null && TokenType.isOrdinary(types[whole])) return new int[]{whole};
        }
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        IntList symbols = new IntList(utf8.length);
        for (byte b : utf8) {
            int id = byteTokens[b & 0xFF];
            // A vocabulary missing a byte's piece (not a proper byte-level one) gives <unk>, or nothing.
            if (id >= 0) symbols.add(id);
            else if (unk >= 0) symbols.add(unk);
        }
        return BpeMerge.apply(symbols.toArray(), rule);
    }

    @Override
    public byte[] tokenBytes(int token) {
        checkToken(token);
        return bytes[token].clone();
    }

    @Override
    public String piece(int token) {
        checkToken(token);
        return tokens[token];
    }

    @Override
    public int pieceId(String piece) {
        Integer id = ids.get(piece);
        return id == null ? -1 : id;
    }

    /** The token's type ({@link TokenType}). */
    public int tokenType(int token) {
        checkToken(token);
        return types[token];
    }

    private byte[] decodePiece(int id) {
        return switch (types[id]) {
            // Control, unknown and unused tokens stand for no text.
            case TokenType.CONTROL, TokenType.UNKNOWN, TokenType.UNUSED -> new byte[0];
            // Added (user-defined) tokens are stored as plain text, not byte-spelled.
            case TokenType.USER_DEFINED -> tokens[id].getBytes(StandardCharsets.UTF_8);
            default -> ByteLevelAlphabet.unspell(tokens[id]);
        };
    }

    /** Types for a vocabulary that has none: bos, eos and {@code <|...|>} pieces control, the rest normal. */
    private static int[] inferTypes(String[] tokens, int bos, int eos) {
        int[] types = new int[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            boolean control = i == bos || i == eos
                    || (tokens[i].length() > 4 && tokens[i].startsWith("<|") && tokens[i].endsWith("|>"));
            types[i] = control ? TokenType.CONTROL : TokenType.NORMAL;
        }
        return types;
    }

    private static void checkId(String what, int id, int vocabSize) {
        if (id < -1 || id >= vocabSize)
            throw new IllegalArgumentException(what + " id " + id + " is outside the vocabulary of " + vocabSize);
    }

    private void checkToken(int token) {
        if (token < 0 || token >= tokens.length)
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary of " + tokens.length);
    }
}
