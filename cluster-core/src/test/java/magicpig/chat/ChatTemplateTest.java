package magicpig.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import magicpig.tokenizer.SyntheticTokenizer;
import magicpig.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

/** Real chat templates, as their models ship them, render the prompts those models were trained on. */
class ChatTemplateTest {
    static final ZonedDateTime DAY = ZonedDateTime.of(2025, 3, 7, 12, 0, 0, 0, ZoneOffset.UTC);

    /** Meta-Llama-3-8B-Instruct's tokenizer_config.json chat_template. */
    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
            + "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
            + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    /** Llama-2-7b-chat-hf's chat_template. */
    static final String LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
            + "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
            + "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if loop.index0 == 0 and system_message != false %}"
            + "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
            + "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
            + "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
            + "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    /** The ChatML template (OpenHermes and others). */
    static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
            + " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /** Qwen2-Instruct: ChatML with a default system prompt. */
    static final String QWEN2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
            + "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role']"
            + " + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /** Zephyr: one tag per line, so trim_blocks decides the output. */
    static final String ZEPHYR = """
            {% for message in messages %}
            {% if message['role'] == 'user' %}
            {{ '<|user|>
            ' + message['content'] + eos_token }}
            {% elif message['role'] == 'system' %}
            {{ '<|system|>
            ' + message['content'] + eos_token }}
            {% elif message['role'] == 'assistant' %}
            {{ '<|assistant|>
            '  + message['content'] + eos_token }}
            {% endif %}
            {% if loop.last and add_generation_prompt %}
            {{ '<|assistant|>' }}
            {% endif %}
            {% endfor %}""";

    /** Llama-3.1-8B-Instruct: whitespace control, namespace-free scoping, is defined/none, slicing, tool branches. */
    static final String LLAMA31 = """
            {{- bos_token }}
            {%- if custom_tools is defined %}
                {%- set tools = custom_tools %}
            {%- endif %}
            {%- if not tools_in_user_message is defined %}
                {%- set tools_in_user_message = true %}
            {%- endif %}
            {%- if not date_string is defined %}
                {%- set date_string = "26 Jul 2024" %}
            {%- endif %}
            {%- if not tools is defined %}
                {%- set tools = none %}
            {%- endif %}

            {#- This block extracts the system message, so we can slot it into the right place. #}
            {%- if messages[0]['role'] == 'system' %}
                {%- set system_message = messages[0]['content']|trim %}
                {%- set messages = messages[1:] %}
            {%- else %}
                {%- set system_message = "" %}
            {%- endif %}

            {#- System message + builtin tools #}
            {{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
            {%- if builtin_tools is defined or tools is not none %}
                {{- "Environment: ipython\\n" }}
            {%- endif %}
            {%- if builtin_tools is defined %}
                {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\\n\\n"}}
            {%- endif %}
            {{- "Cutting Knowledge Date: December 2023\\n" }}
            {{- "Today Date: " + date_string + "\\n\\n" }}
            {%- if tools is not none and not tools_in_user_message %}
                {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
                {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
                {{- "Do not use variables.\\n\\n" }}
                {%- for t in tools %}
                    {{- t | tojson(indent=4) }}
                    {{- "\\n\\n" }}
                {%- endfor %}
            {%- endif %}
            {{- system_message }}
            {{- "<|eot_id|>" }}

            {#- Custom tools are passed in a user message with some extra guidance #}
            {%- if tools_in_user_message and not tools is none %}
                {#- Extract the first user message so we can plug it in here #}
                {%- if messages | length != 0 %}
                    {%- set first_user_message = messages[0]['content']|trim %}
                    {%- set messages = messages[1:] %}
                {%- else %}
                    {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
            {%- endif %}
                {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
                {{- "Given the following functions, please respond with a JSON for a function call " }}
                {{- "with its proper arguments that best answers the given prompt.\\n\\n" }}
                {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
                {{- "Do not use variables.\\n\\n" }}
                {%- for t in tools %}
                    {{- t | tojson(indent=4) }}
                    {{- "\\n\\n" }}
                {%- endfor %}
                {{- first_user_message + "<|eot_id|>"}}
            {%- endif %}

            {%- for message in messages %}
                {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
                    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
                {%- elif 'tool_calls' in message %}
                    {%- if not message.tool_calls|length == 1 %}
                        {{- raise_exception("This model only supports single tool-calls at once!") }}
                    {%- endif %}
                    {%- set tool_call = message.tool_calls[0].function %}
                    {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
                        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
                        {{- "<|python_tag|>" + tool_call.name + ".call(" }}
                        {%- for arg_name, arg_val in tool_call.arguments | items %}
                            {{- arg_name + '="' + arg_val + '"' }}
                            {%- if not loop.last %}
                                {{- ", " }}
                            {%- endif %}
                            {%- endfor %}
                        {{- ")" }}
                    {%- else  %}
                        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
                        {{- '{"name": "' + tool_call.name + '", ' }}
                        {{- '"parameters": ' }}
                        {{- tool_call.arguments | tojson }}
                        {{- "}" }}
                    {%- endif %}
                    {%- if builtin_tools is defined %}
                        {#- This means we're in ipython mode #}
                        {{- "<|eom_id|>" }}
                    {%- else %}
                        {{- "<|eot_id|>" }}
                    {%- endif %}
                {%- elif message.role == "tool" or message.role == "ipython" %}
                    {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
                    {%- if message.content is mapping or message.content is iterable %}
                        {{- message.content | tojson }}
                    {%- else %}
                        {{- message.content }}
                    {%- endif %}
                    {{- "<|eot_id|>" }}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
            {%- endif %}
            """;

    /** Llama 3.2's date line: strftime_now when the caller gives no date. */
    static final String LLAMA32_DATE = """
            {%- if not date_string is defined %}
                {%- if strftime_now is defined %}
                    {%- set date_string = strftime_now("%d %b %Y") %}
                {%- else %}
                    {%- set date_string = "26 Jul 2024" %}
                {%- endif %}
            {%- endif %}
            {{- "Today Date: " + date_string + "\\n\\n" }}""";

    /** A template that uses namespace to carry a value out of a loop (as Mistral's and others' do). */
    static final String NAMESPACE = """
            {%- set ns = namespace(system='', turns=0) %}
            {%- for m in messages %}
                {%- if m.role == 'system' %}{% set ns.system = m.content %}{% else %}{% set ns.turns = ns.turns + 1 %}{% endif %}
            {%- endfor %}
            {{- '[SYS]' ~ ns.system ~ '[/SYS] turns=' ~ ns.turns }}
            {%- for m in messages if m.role != 'system' %}
                {{- ' ' ~ loop.index ~ '/' ~ loop.length ~ ':' ~ m.content.strip() | upper }}{% if loop.last %}.{% endif %}
            {%- endfor %}""";

    /** Gemma's: renames the assistant role, refuses a system message. */
    static final String GEMMA = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
            + "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
            + "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";

    /** The constructs of DeepSeek-R1's template: a namespace of flags, split(...)[-1] to drop the reasoning, neighbours by index. */
    static final String DEEPSEEK_LIKE = """
            {%- set ns = namespace(system_prompt='', is_first=false) -%}
            {%- for message in messages -%}{%- if message['role'] == 'system' -%}{%- set ns.system_prompt = message['content'] -%}{%- endif -%}{%- endfor -%}
            {{ bos_token }}{{ ns.system_prompt }}
            {%- for message in messages -%}
            {%- if message['role'] == 'user' -%}{{ '<|User|>' + message['content'] }}
            {%- elif message['role'] == 'assistant' -%}{{ '<|Assistant|>' + message['content'].split('</think>')[-1] + '<|end|>' }}
            {%- endif -%}
            {%- if not loop.last and messages[loop.index0 + 1]['role'] == message['role'] -%}{{ raise_exception('twice') }}{%- endif -%}
            {%- endfor -%}
            {%- if add_generation_prompt -%}{{ '<|Assistant|><think>\n' }}{%- endif -%}""";

    static List<ChatMessage> conversation(String... roleContent) {
        List<ChatMessage> out = new ArrayList<>();
        for (int k = 0; k < roleContent.length; k += 2) out.add(new ChatMessage(roleContent[k], roleContent[k + 1]));
        return out;
    }

    static String render(String template, String bos, String eos, List<ChatMessage> messages, boolean gen) {
        return JinjaChatTemplate.strict(template, bos, eos, () -> DAY).render(messages, gen);
    }

    @Test
    void llama3() {
        var conv = conversation("system", "You are terse. ", "user", "  Hi there\n");
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(expected, render(LLAMA3, "<|begin_of_text|>", "<|eot_id|>", conv, true));
        var builtin = new BuiltinChatTemplate(BuiltinChatTemplate.Format.LLAMA3, "<|begin_of_text|>", "<|eot_id|>");
        assertEquals(expected, builtin.render(conv, true));
        assertEquals(render(LLAMA3, "<|begin_of_text|>", "<|eot_id|>", conv, false), builtin.render(conv, false));
    }

    @Test
    void llama31WithItsWhitespaceControl() {
        var conv = conversation("system", "You are helpful.", "user", "Hi", "assistant", "Hello!", "user", "Bye");
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are helpful.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(expected, render(LLAMA31, "<|begin_of_text|>", "<|eot_id|>", conv, true));
        // without a system message the system header still comes, with an empty system text
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                        + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
                render(LLAMA31, "<|begin_of_text|>", "<|eot_id|>", conversation("user", "Hi"), false));
    }

    @Test
    void llama32DateComesFromTheClock() {
        assertEquals("Today Date: 07 Mar 2025\n\n", render(LLAMA32_DATE, "", "", conversation("user", "x"), false));
    }

    @Test
    void llama2FoldsTheSystemPromptAndChecksAlternation() {
        var conv = conversation("system", "Be brief.", "user", "Hi ", "assistant", " Hello! ", "user", "Bye");
        String expected = "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]";
        assertEquals(expected, render(LLAMA2, "<s>", "</s>", conv, true));
        var builtin = new BuiltinChatTemplate(BuiltinChatTemplate.Format.LLAMA2, "<s>", "</s>");
        assertEquals(expected, builtin.render(conv, true));
        assertEquals("<s>[INST] Hi [/INST]", render(LLAMA2, "<s>", "</s>", conversation("user", "Hi"), true));

        var bad = conversation("user", "a", "user", "b");
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> render(LLAMA2, "<s>", "</s>", bad, true));
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
        assertThrows(ChatTemplateException.class, () -> builtin.render(bad, true));
    }

    @Test
    void chatMlAndQwen() {
        var conv = conversation("system", "S", "user", "U");
        String expected = "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n";
        assertEquals(expected, render(CHATML, "", "<|im_end|>", conv, true));
        assertEquals(expected, new BuiltinChatTemplate(BuiltinChatTemplate.Format.CHATML, "", "<|im_end|>").render(conv, true));
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
                + "<|im_start|>assistant\n", render(QWEN2, "", "<|im_end|>", conversation("user", "U"), true));
        assertEquals(expected, render(QWEN2, "", "<|im_end|>", conv, true));
    }

    @Test
    void gemmaAndDeepSeekStyleTemplates() {
        assertEquals("<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>model\n",
                render(GEMMA, "<bos>", "<eos>", conversation("user", " Hi ", "assistant", "Hello"), true));
        assertEquals("System role not supported", assertThrows(ChatTemplateException.class,
                () -> render(GEMMA, "<bos>", "<eos>", conversation("system", "S", "user", "U"), true)).getMessage());
        assertEquals("<s>S<|User|>Q<|Assistant|>A<|end|><|User|>Q2<|Assistant|><think>\n",
                render(DEEPSEEK_LIKE, "<s>", "</s>", conversation("system", "S", "user", "Q", "assistant", "<think>hm</think>A",
                        "user", "Q2"), true));
    }

    @Test
    void zephyrLinesFollowTrimBlocks() {
        var conv = conversation("system", "S", "user", "Hi");
        assertEquals("<|system|>\nS</s>\n<|user|>\nHi</s>\n<|assistant|>\n", render(ZEPHYR, "<s>", "</s>", conv, true));
    }

    @Test
    void namespaceCarriesValuesOutOfLoops() {
        var conv = conversation("system", "sys", "user", " a ", "assistant", "b", "user", "c");
        assertEquals("[SYS]sys[/SYS] turns=3 1/3:A 2/3:B 3/3:C.", render(NAMESPACE, "", "", conv, false));
    }

    @Test
    void modelTemplateIsChosenWhenItWorksElseTheBuiltInWithAWarning() {
        SyntheticTokenizer tok = new SyntheticTokenizer(512);
        List<String> warnings = new ArrayList<>();
        ChatTemplate own = ChatTemplate.forModel(CHATML, tok, new int[] {2}, warnings::add);
        assertInstanceOf(JinjaChatTemplate.class, own);
        assertTrue(warnings.isEmpty(), warnings.toString());

        ChatTemplate broken = ChatTemplate.forModel("{% for m in messages %}{{ m.content }}", tok, new int[] {2}, warnings::add);
        assertInstanceOf(BuiltinChatTemplate.class, broken);
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("missing {% else / endfor %}"), warnings.get(0));
        // the synthetic vocabulary has no Llama 3 or ChatML tokens: Llama 2
        assertEquals("<s>[INST] Hi [/INST]", broken.render(conversation("user", "Hi"), true));

        ChatTemplate unsupported = ChatTemplate.forModel("{% macro f() %}x{% endmacro %}{{ f() }}", tok, new int[0], warnings::add);
        assertInstanceOf(BuiltinChatTemplate.class, unsupported);
        assertTrue(warnings.get(1).contains("unsupported statement 'macro'"), warnings.get(1));

        // fails only for some conversations: that request falls back, with a warning
        ChatTemplate partial = ChatTemplate.forModel("{% for m in messages %}{% if m.role == 'tool' %}{{ m.content | frobnicate }}"
                + "{% else %}{{ m.content }}{% endif %}{% endfor %}", tok, new int[] {2}, warnings::add);
        assertInstanceOf(JinjaChatTemplate.class, partial);
        assertTrue(partial.render(conversation("user", "a", "tool", "b"), true).startsWith("<s>[INST] a [/INST]"));
        assertTrue(warnings.get(2).contains("unknown filter 'frobnicate'"), warnings.get(2));
        assertEquals("ab", partial.render(conversation("user", "a", "assistant", "b"), true));
    }

    @Test
    void builtInFormatFollowsTheVocabulary() {
        assertEquals(BuiltinChatTemplate.Format.LLAMA2, BuiltinChatTemplate.forVocabulary(new SyntheticTokenizer(512), new int[0]).format());
        assertEquals(BuiltinChatTemplate.Format.LLAMA3, BuiltinChatTemplate.forVocabulary(vocab("<|start_header_id|>"), new int[0]).format());
        assertEquals(BuiltinChatTemplate.Format.CHATML, BuiltinChatTemplate.forVocabulary(vocab("<|im_start|>"), new int[0]).format());
    }

    /** A synthetic vocabulary that also knows one special piece. */
    static Tokenizer vocab(String special) {
        SyntheticTokenizer base = new SyntheticTokenizer(512);
        return new Tokenizer() {
            public int vocabSize() { return base.vocabSize(); }
            public int bosId() { return base.bosId(); }
            public boolean isEndOfText(int token) { return base.isEndOfText(token); }
            public int[] encode(String text, boolean addBos, boolean parseSpecial) { return base.encode(text, addBos, parseSpecial); }
            public byte[] tokenBytes(int token) { return base.tokenBytes(token); }
            public String piece(int token) { return token == 300 ? special : base.piece(token); }
            public int pieceId(String piece) { return piece.equals(special) ? 300 : base.pieceId(piece); }
        };
    }
}
