package magicpig.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The contents of a llama2.c tokenizer {@code .bin}: an int32 max_token_length, then per piece a
 * float32 score, an int32 byte length and the piece's bytes, all little-endian. Every bound is
 * checked so a short or corrupt file gives a message naming it, not a buffer underflow.
 */
record Llama2cVocabulary(String[] pieces, float[] scores, int maxTokenLength) {

    /** Reads vocabSize pieces, or every piece up to the end of the file when vocabSize is -1. */
    static Llama2cVocabulary read(Path file, int vocabSize) throws IOException {
        if (vocabSize == 0 || vocabSize < -1)
            throw new IllegalArgumentException("vocabulary size must be positive (or -1 for the whole file), got " + vocabSize);
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 4)
            throw new MalformedTokenizerException(file, "too short for a llama2.c tokenizer (" + in.remaining() + " bytes, the header alone is 4)");
        int maxTokenLength = in.getInt();
        if (maxTokenLength <= 0)
            throw new MalformedTokenizerException(file, "not a llama2.c tokenizer: max_token_length is " + maxTokenLength);
        int capacity = vocabSize > 0 ? vocabSize : 1024;
        String[] pieces = new String[capacity];
        float[] scores = new float[capacity];
        int count = 0;
        while (vocabSize > 0 ? count < vocabSize : in.hasRemaining()) {
            if (in.remaining() < 8) {
                throw new MalformedTokenizerException(file, vocabSize > 0
                        ? "truncated: holds only " + count + " of the " + vocabSize + " pieces the model needs"
                        : "truncated inside the header of piece " + count);
            }
            float score = in.getFloat();
            int length = in.getInt();
            if (length < 0 || length > in.remaining())
                throw new MalformedTokenizerException(file, "piece " + count + " claims " + length + " bytes but "
                        + in.remaining() + " remain (truncated or not a llama2.c tokenizer)");
            byte[] bytes = new byte[length];
            in.get(bytes);
            if (count == pieces.length) {
                pieces = java.util.Arrays.copyOf(pieces, count * 2);
                scores = java.util.Arrays.copyOf(scores, count * 2);
            }
            pieces[count] = new String(bytes, StandardCharsets.UTF_8);
            scores[count] = score;
            count++;
        }
        return new Llama2cVocabulary(java.util.Arrays.copyOf(pieces, count), java.util.Arrays.copyOf(scores, count), maxTokenLength);
    }
}
