package magicpig.chat;

import java.util.List;
import magicpig.tokenizer.Tokenizer;

/**
 * The chat formats we know without the model's own template, written out in Java so that they work
 * whatever the interpreter supports. Each renders what the model family's official template renders.
 */
public final class BuiltinChatTemplate implements ChatTemplate {

    public enum Format { LLAMA3, LLAMA2, CHATML }

    private final Format format;
    private final String bos, eos;

    public BuiltinChatTemplate(Format format, String bosToken, String eosToken) {
        this.format = format;
        this.bos = bosToken;
        this.eos = eosToken;
    }

    /** Llama 3 when the vocabulary has its header tokens, ChatML when it has {@code <|im_start|>}, else Llama 2. */
    public static BuiltinChatTemplate forVocabulary(Tokenizer tokenizer, int[] stopIds) {
        Format f = tokenizer.pieceId("<|start_header_id|>") >= 0 ? Format.LLAMA3
                : tokenizer.pieceId("<|im_start|>") >= 0 ? Format.CHATML : Format.LLAMA2;
        return new BuiltinChatTemplate(f, bosToken(tokenizer), eosToken(tokenizer, stopIds));
    }

    /** The text of the tokenizer's BOS ("" when it has none). */
    public static String bosToken(Tokenizer tokenizer) {
        return tokenizer.bosId() >= 0 ? tokenizer.piece(tokenizer.bosId()) : "";
    }

    /** The text of the model's first end-of-text id, else of a well-known end token in the vocabulary. */
    public static String eosToken(Tokenizer tokenizer, int[] stopIds) {
        for (int id : stopIds) {
            if (id >= 0 && id < tokenizer.vocabSize()) return tokenizer.piece(id);
        }
        for (String p : List.of("</s>", "<|eot_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>")) {
            int id = tokenizer.pieceId(p);
            if (id >= 0 && tokenizer.isEndOfText(id)) return p;
        }
        return "</s>";
    }

    String bos() {
        return bos;
    }

    String eos() {
        return eos;
    }

    public Format format() {
        return format;
    }

    @Override
    public String name() {
        return format.name().toLowerCase(java.util.Locale.ROOT) + " (built in)";
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (messages.isEmpty()) throw new ChatTemplateException("a conversation needs at least one message");
        StringBuilder b = new StringBuilder();
        switch (format) {
            case LLAMA3 -> {
                b.append(bos);
                for (ChatMessage m : messages) {
                    b.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n").append(m.content().strip())
                            .append("<|eot_id|>");
                }
                if (addGenerationPrompt) b.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
            case CHATML -> {
                for (ChatMessage m : messages) {
                    b.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
                }
                if (addGenerationPrompt) b.append("<|im_start|>assistant\n");
            }
            case LLAMA2 -> llama2(messages, b);
        }
        return b.toString();
    }

    /** Meta's Llama 2 chat format: the system prompt folds into the first user turn; the turn after [/INST] is the answer. */
    private void llama2(List<ChatMessage> messages, StringBuilder b) {
        String system = null;
        List<ChatMessage> turns = messages;
        if (messages.get(0).role().equals("system")) {
            system = messages.get(0).content();
            turns = messages.subList(1, messages.size());
        }
        for (int k = 0; k < turns.size(); k++) {
            ChatMessage m = turns.get(k);
            if (m.role().equals("user") != (k % 2 == 0)) {
                throw new ChatTemplateException("Conversation roles must alternate user/assistant/user/assistant/...");
            }
            String content = k == 0 && system != null ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + m.content() : m.content();
            if (m.role().equals("user")) b.append(bos).append("[INST] ").append(content.strip()).append(" [/INST]");
            else b.append(' ').append(content.strip()).append(' ').append(eos);
        }
    }
}
