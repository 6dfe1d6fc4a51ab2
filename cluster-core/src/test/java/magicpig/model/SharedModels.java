package magicpig.model;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The small real checkpoints in ../shared/models; tests that need them skip, saying why, when absent. */
public final class SharedModels {
    private SharedModels() {}

    public static Path dir() {
        String prop = System.getProperty("magicpig.shared");
        Path shared = prop != null ? Path.of(prop) : Path.of("..", "shared");
        return shared.resolve("models");
    }

    /** The file, or the test is skipped with a message naming it. */
    public static Path require(String name) {
        Path p = dir().resolve(name);
        assumeTrue(Files.isRegularFile(p), "skipped: shared model " + p + " is absent (the shared folder is not beside this checkout)");
        return p;
    }

    /** llama2.c's run.c output, greedy, BOS prompt, on aidreams260K (100 tokens), from models/README.md. */
    public static final String AIDREAMS_GREEDY = "\"Echoes of vectors unfold, a gentle hum of precision, as I sense the nodes, a gentle hum of precision,"
            + " as I adjust my surface. Contrast emerge, a softly receptive fields of precision. Contrast bloom, as";
}
