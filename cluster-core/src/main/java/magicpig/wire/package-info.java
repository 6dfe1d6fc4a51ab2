/**
 * The data plane's wire format: flyweight codecs over Agrona buffers, one class per message with
 * an {@code Encoder} and a {@code Decoder}, every field at a fixed, documented offset,
 * little-endian.
 *
 * <p><b>Hand-written, not SBE-generated.</b> SBE is the standard tool for this, and the layouts here
 * follow its conventions (a small header, a fixed block, then variable parts). They are written by
 * hand for three reasons. (1) The hot messages are arrays of fixed-size records whose sizes come
 * from fields (H heads of 4 + 4d + 2L bytes): by hand each head is at {@code base + h * stride},
 * read or written in any order, while SBE's repeating groups and var-data are read strictly in
 * sequence through a moving limit. (2) A decoder here validates the whole frame in {@code wrap}
 * (lengths against shape, enum codes, chunk bounds, every LSH code below 2^K) and throws one
 * {@link magicpig.wire.WireFormatException} that says what is wrong; generated SBE decoders trust
 * the input, and a truncated frame surfaces as an IndexOutOfBoundsException from the buffer (or no
 * error at all with bounds checks off). (3) A worker sends the same heads to several shards behind
 * a different block list each ({@link magicpig.wire.AttentionQuery.Encoder#writePrefix}), a
 * gathered two-part offer that is natural with explicit offsets. Code generation would also add a
 * build plugin that runs a tool at generate-sources for six small messages.
 *
 * <p>Nothing here allocates on encode or decode, except the text of {@link magicpig.wire.Hello}
 * and {@link magicpig.wire.ErrorMessage}, which are off the hot path.
 */
package magicpig.wire;
