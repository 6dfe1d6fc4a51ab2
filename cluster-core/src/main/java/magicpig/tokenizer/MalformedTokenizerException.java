package magicpig.tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/** A tokenizer file that cannot be read as what it claims to be; the message names the file. */
public final class MalformedTokenizerException extends IOException {

    public MalformedTokenizerException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public MalformedTokenizerException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
