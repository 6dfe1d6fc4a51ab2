package magicpig.model.hf;

import magicpig.tensor.GgmlType;

/**
 * The element types a safetensors header may name, with their widths. Only F32, F16 and BF16 map
 * to a storage type the engine computes with; the rest are known so that a file holding them can
 * still be opened and its sizes checked, and so that a loader can name them in its errors.
 */
public enum SafetensorsDtype {
    BOOL(8), U8(8), I8(8), F8_E5M2(8), F8_E4M3(8), F8_E8M0(8), F4(4), F6_E2M3(6), F6_E3M2(6),
    I16(16), U16(16), F16(16), BF16(16),
    I32(32), U32(32), F32(32),
    I64(64), U64(64), F64(64);

    /** Bits of one element. */
    public final int bits;

    SafetensorsDtype(int bits) {
        this.bits = bits;
    }

    /** The engine's storage type for this dtype, or null when the engine cannot compute with it. */
    public GgmlType engineType() {
        return switch (this) {
            case F32 -> GgmlType.F32;
            case F16 -> GgmlType.F16;
            case BF16 -> GgmlType.BF16;
            default -> null;
        };
    }

    /** Bytes of {@code elements} values, or -1 when they do not fill whole bytes. */
    public long bytes(long elements) {
        long totalBits = Math.multiplyExact(elements, (long) bits);
        return totalBits % 8 == 0 ? totalBits / 8 : -1;
    }

    /** The dtype a header spells {@code name}, or null for one this reader does not know. */
    public static SafetensorsDtype parse(String name) {
        for (SafetensorsDtype d : values()) {
            if (d.name().equals(name)) return d;
        }
        return null;
    }

    /** The safetensors dtype of an engine storage type (F32, F16, BF16 only). */
    public static SafetensorsDtype of(GgmlType type) {
        return switch (type) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
            default -> throw new IllegalArgumentException("safetensors has no dtype for " + type + "; use F32, F16 or BF16");
        };
    }
}
