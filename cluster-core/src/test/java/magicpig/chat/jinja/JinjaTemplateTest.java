package magicpig.chat.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Expression semantics, whitespace rules and errors of the Jinja subset. */
class JinjaTemplateTest {

    static String render(String src, Map<String, ?> vars) {
        return JinjaTemplate.parse(src).render(vars, ZonedDateTime::now);
    }

    static String render(String src) {
        return render(src, Map.of());
    }

    @Test
    void expressionsFollowPython() {
        assertEquals("7", render("{{ 1 + 2 * 3 }}"));
        assertEquals("2.5 2 1 -1 8", render("{{ 5 / 2 }} {{ 5 // 2 }} {{ 7 % 3 }} {{ -7 // 5 + 1 }} {{ 2 ** 3 }}"));
        assertEquals("ab3", render("{{ 'a' ~ 'b' ~ 3 }}"));
        assertEquals("True False None", render("{{ true }} {{ 1 > 2 }} {{ none }}"));
        assertEquals("x", render("{{ 'x' if 1 in [1, 2] else 'y' }}"));
        assertEquals("yes", render("{{ 'a' in 'cat' and 'yes' or 'no' }}"));
        assertEquals("['a', 1, None]", render("{{ ['a', 1, none] }}"));
        assertEquals("cd|bcd|dcba|b", render("{{ s[2:] }}|{{ s[1:] }}|{{ s[::-1] }}|{{ s[-3] }}", Map.of("s", "abcd")));
        assertEquals("[2, 3]", render("{{ l[1:] }}", Map.of("l", List.of(1L, 2L, 3L))));
        assertEquals("hi there", render("{{ '  hi there \\n'.strip() }}"));
        assertEquals("A-B", render("{{ 'a b'.upper().split() | join('-') }}"));
        assertEquals("True", render("{{ 'abc'.startswith(('x', 'ab')) }}"));
        assertEquals("{\"a\": [1, 2], \"b\": \"\\n\"}", render("{{ {'a': [1, 2], 'b': '\\n'} | tojson }}"));
        assertEquals("3 0", render("{{ [1, 2, 3] | length }} {{ undefined_thing | length }}"));
        assertEquals("1,3", render("{{ [1, 2, 3] | reject('equalto', 2) | join(',') }}"));
        assertEquals("k=v", render("{% for k, v in d | items %}{{ k }}={{ v }}{% endfor %}", Map.of("d", Map.of("k", "v"))));
        assertEquals("d", render("{{ x | default('d') }}"));
    }

    @Test
    void filtersBindTighterThanOperators() {
        assertEquals("<x>", render("{{ '<' + s | trim + '>' }}", Map.of("s", "  x  ")));
        assertEquals("True", render("{{ not x is defined }}"));
        assertEquals("True", render("{{ l | length != 0 }}", Map.of("l", List.of(1L))));
    }

    @Test
    void loopsScopesAndControl() {
        assertEquals("1a2b3c", render("{% for x in 'abc' %}{{ loop.index }}{{ x }}{% endfor %}"));
        assertEquals("first,mid,last", render("{% for x in [1,2,3] %}{% if loop.first %}first{% elif loop.last %}last"
                + "{% else %}mid{% endif %}{% if not loop.last %},{% endif %}{% endfor %}"));
        assertEquals("empty", render("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"));
        assertEquals("0", render("{% set n = 0 %}{% for x in [1, 2] %}{% set n = n + x %}{% endfor %}{{ n }}"));
        assertEquals("3", render("{% set ns = namespace(n=0) %}{% for x in [1, 2] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"));
        assertEquals("13", render("{% for x in range(1, 6) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}"
                + "{% endif %}{{ x }}{% endfor %}"));
        assertEquals("2", render("{% for x in [1, 2, 3] if x is even %}{{ x }}{% endfor %}"));
        assertEquals("<b>", render("{% set v %}<{{ 'b' }}>{% endset %}{{ v }}"));
        assertEquals("ok", render("{% if d.missing is not defined and d['k'] == 1 %}ok{% endif %}", Map.of("d", Map.of("k", 1L))));
    }

    @Test
    void whitespaceRulesMatchHuggingFace() {
        // trim_blocks removes the newline after a block tag, lstrip_blocks the indent before one
        assertEquals("  a\nb\n", render("{% if true %}\n  a\n{% endif %}\n    {% if true %}\nb\n    {% endif %}\n"));
        assertEquals("x\ny", render("{{ 'x' }}\n{# comment #}\ny"));
        assertEquals("xy", render("x   {%- if true -%}   \n  y{% endif %}"));
        assertEquals("a\nb", render("a\n{{- '' }}\nb"));
        assertEquals("ab", render("a\n  {{- 'b' }}"));
        assertEquals("{{ raw }}", render("{% raw %}{{ raw }}{% endraw %}"));
    }

    @Test
    void errorsNameTheProblemAndPlace() {
        JinjaException e = assertThrows(JinjaException.class, () -> JinjaTemplate.parse("line\n{% if x %}y"));
        assertEquals("missing {% elif / else / endif %} at line 2, column 12", e.getMessage());
        assertTrue(assertThrows(JinjaException.class, () -> JinjaTemplate.parse("{{ 'unterminated }}")).getMessage()
                .contains("unterminated string"));
        assertTrue(assertThrows(JinjaException.class, () -> render("{{ 'a' + 1 }}")).getMessage().contains("str and int"));
        assertEquals("no", assertThrows(JinjaException.Raised.class, () -> render("{{ raise_exception('no') }}")).getMessage());
        assertTrue(assertThrows(JinjaException.class, () -> render("{% for x in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"))
                .getMessage().contains("grew past"));
    }
}
