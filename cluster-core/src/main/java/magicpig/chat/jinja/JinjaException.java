package magicpig.chat.jinja;

/** A template that cannot be parsed, or an expression that cannot be evaluated. */
public class JinjaException extends RuntimeException {
    public JinjaException(String message) {
        super(message);
    }

    /** The template itself called {@code raise_exception(message)}: the input is what it refuses. */
    public static final class Raised extends JinjaException {
        public Raised(String message) {
            super(message);
        }
    }
}
