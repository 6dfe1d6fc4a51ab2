package magicpig.ops;

import java.io.PrintStream;

/** {@code magicpig eval attention}. */
final class EvalCommand {
    private EvalCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) {
        throw new UsageException("eval is not available yet");
    }
}
