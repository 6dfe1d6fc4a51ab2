package magicpig.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shared test models: {@code magicpig.shared} (set by surefire) or {@code ../shared}, skipped when absent. */
final class SharedModels {

    private SharedModels() {
    }

    static Path file(String name) {
        Path shared = Path.of(System.getProperty("magicpig.shared", "../shared"));
        Path file = shared.resolve("models").resolve(name);
        assumeTrue(Files.isRegularFile(file), "shared test model " + file + " is absent: skipping");
        return file;
    }
}
