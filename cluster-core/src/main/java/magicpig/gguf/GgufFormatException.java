package magicpig.gguf;

import java.nio.file.Path;

/** A GGUF file that cannot be read: the message names the file and what is wrong with it. */
public final class GgufFormatException extends IllegalArgumentException {
    public GgufFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public GgufFormatException(String source, String problem) {
        super(source + ": " + problem);
    }
}
