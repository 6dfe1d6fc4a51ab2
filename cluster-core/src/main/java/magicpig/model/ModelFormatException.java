package magicpig.model;

import java.nio.file.Path;

/** A model file that cannot be used: truncated, corrupt, or of an unsupported kind. The message names the file. */
public class ModelFormatException extends IllegalArgumentException {
    public ModelFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
