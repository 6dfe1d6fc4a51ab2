package magicpig.chat;

/** One turn of a conversation: role is system, user, assistant or tool; content is its text. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        if (role == null || content == null) throw new IllegalArgumentException("a chat message needs a role and content");
    }
}
