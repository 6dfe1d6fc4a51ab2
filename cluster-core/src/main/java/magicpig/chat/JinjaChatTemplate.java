package magicpig.chat;

import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import magicpig.chat.jinja.JinjaException;
import magicpig.chat.jinja.JinjaTemplate;

/**
 * A model's own chat template, rendered by our Jinja subset with the variables Hugging Face passes
 * ({@code messages}, {@code bos_token}, {@code eos_token}, {@code add_generation_prompt}). When the
 * template raises an exception the conversation is refused; when it fails in a way the template's
 * author did not intend (something our subset lacks), the built-in template renders instead.
 */
public final class JinjaChatTemplate implements ChatTemplate {
    private final JinjaTemplate template;
    private final BuiltinChatTemplate fallback;
    private final Consumer<String> warnings;
    private final Supplier<ZonedDateTime> clock;

    JinjaChatTemplate(JinjaTemplate template, BuiltinChatTemplate fallback, Consumer<String> warnings, Supplier<ZonedDateTime> clock) {
        this.template = template;
        this.fallback = fallback;
        this.warnings = warnings;
        this.clock = clock;
    }

    /** The model's template if it parses and renders a one-message conversation; else the fallback, with a warning. */
    static ChatTemplate tryCreate(String source, BuiltinChatTemplate fallback, Consumer<String> warnings) {
        try {
            JinjaChatTemplate t = new JinjaChatTemplate(JinjaTemplate.parse(source), fallback, warnings, ZonedDateTime::now);
            t.renderJinja(List.of(new ChatMessage("user", "Hello")), true);
            return t;
        } catch (JinjaException e) {
            warnings.accept("the model's chat template cannot be used (" + e.getMessage() + "); using the " + fallback.name()
                    + " template instead");
            return fallback;
        }
    }

    /** A template from source that fails loudly instead of falling back (for tests and tools). */
    public static JinjaChatTemplate strict(String source, String bosToken, String eosToken, Supplier<ZonedDateTime> clock) {
        return new JinjaChatTemplate(JinjaTemplate.parse(source), new BuiltinChatTemplate(BuiltinChatTemplate.Format.CHATML,
                bosToken, eosToken), w -> {
                    throw new IllegalStateException(w);
                }, clock);
    }

    @Override
    public String name() {
        return "the model's own";
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (messages.isEmpty()) throw new ChatTemplateException("a conversation needs at least one message");
        try {
            return renderJinja(messages, addGenerationPrompt);
        } catch (JinjaException.Raised e) {
            throw new ChatTemplateException(e.getMessage());
        } catch (JinjaException e) {
            warnings.accept("the model's chat template failed (" + e.getMessage() + "); rendered this conversation with the "
                    + fallback.name() + " template");
            return fallback.render(messages, addGenerationPrompt);
        }
    }

    private String renderJinja(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Object> msgs = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("messages", msgs);
        vars.put("bos_token", fallback.bos());
        vars.put("eos_token", fallback.eos());
        vars.put("add_generation_prompt", addGenerationPrompt);
        return template.render(vars, clock);
    }
}
