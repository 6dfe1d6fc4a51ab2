package magicpig.ops;

/** The command line is wrong: the launcher prints the message and the usage, and exits with 2. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
