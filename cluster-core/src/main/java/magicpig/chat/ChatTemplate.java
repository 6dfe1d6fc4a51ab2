package magicpig.chat;

import java.util.List;
import java.util.function.Consumer;
import magicpig.tokenizer.Tokenizer;

/** Turns a conversation into the prompt text a chat model was trained on. */
public interface ChatTemplate {

    /** What this template is, for logs: "llama3 (built in)", "the model's own", ... */
    String name();

    /**
     * The prompt text, special tokens written as their texts (encode it with special tokens parsed).
     *
     * @param addGenerationPrompt end with the header that opens the assistant's turn
     * @throws ChatTemplateException when the template refuses the conversation
     */
    String render(List<ChatMessage> messages, boolean addGenerationPrompt);

    /**
     * The template for a model: its own (Jinja source from GGUF metadata or tokenizer_config.json)
     * when it parses and renders a one-message conversation, else the built-in one its vocabulary
     * fits. Problems with the model's template go to warnings, and the built-in one is used.
     *
     * @param source  the model's template, or null
     * @param stopIds the model's end-of-text ids (the first one's text is eos_token)
     */
    static ChatTemplate forModel(String source, Tokenizer tokenizer, int[] stopIds, Consumer<String> warnings) {
        BuiltinChatTemplate builtin = BuiltinChatTemplate.forVocabulary(tokenizer, stopIds);
        if (source == null || source.isBlank()) return builtin;
        return JinjaChatTemplate.tryCreate(source, builtin, warnings);
    }
}
