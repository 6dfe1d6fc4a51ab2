package magicpig.chat;

/** The chat template refuses this conversation (e.g. roles that do not alternate): the caller's input is at fault. */
public final class ChatTemplateException extends IllegalArgumentException {
    public ChatTemplateException(String message) {
        super(message);
    }
}
