package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import magicpig.model.Attention;
import magicpig.model.LlamaConfig;
import org.junit.jupiter.api.Test;

class AttentionSettingsTest {

    private static String failure(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void defaultsAreThePapersOperatingPoint() {
        AttentionSettings s = AttentionSettings.defaults();
        assertEquals(AttentionSettings.Mode.DENSE, s.mode());
        assertEquals(10, s.lshK());
        assertEquals(150, s.lshL());
        assertEquals(2, s.lshThreshold());
        assertEquals(4, s.sink());
        assertEquals(64, s.local());
        assertTrue(s.denseLayers().contains(0) && s.denseLayers().contains(16) && s.denseLayers().contains(32));
        assertFalse(s.denseLayers().contains(1) || s.denseLayers().contains(15));
    }

    @Test
    void impossibleValuesAreRejectedWithTheFlagAndTheRule() {
        AttentionSettings s = AttentionSettings.magicPig();
        assertTrue(failure(() -> s.withLsh(17, 150, 2)).contains("--lsh-k"));
        assertTrue(failure(() -> s.withLsh(17, 150, 2)).contains("1..16"));
        assertTrue(failure(() -> s.withLsh(0, 150, 2)).contains("--lsh-k"));
        assertTrue(failure(() -> s.withLsh(10, 0, 1)).contains("--lsh-l"));
        assertTrue(failure(() -> s.withLsh(10, 150, 0)).contains("--lsh-threshold"));
        assertTrue(failure(() -> s.withLsh(10, 150, 151)).contains("1..L (L = 150)"));
        assertTrue(failure(() -> s.withStatic(-1, 64)).contains("--sink"));
        assertTrue(failure(() -> s.withStatic(4, -2)).contains("--local"));
        assertTrue(failure(() -> s.withMaxStatic(60)).contains("--max-static"));
        assertTrue(failure(() -> s.withBlockTokens(0)).contains("--block-tokens"));
        assertTrue(failure(() -> s.withBlockTokens(65537)).contains("1..65536"));
        assertTrue(failure(() -> Budget.parse("1.5%0")).contains("--budget"));
        assertTrue(failure(() -> Budget.fraction(1.5)).contains("(0, 1]"));
        assertTrue(failure(() -> Budget.parse("-3")).contains("--budget"));
        assertTrue(failure(() -> Budget.parse("2.5")).contains("whole number"));
        assertTrue(failure(() -> DenseLayers.parse("every0")).contains("N >= 1"));
        assertTrue(failure(() -> DenseLayers.parse("zero")).contains("--dense-layers"));
        assertTrue(failure(() -> AttentionSettings.Mode.parse("sparse")).contains("magicpig"));
        LlamaConfig llama8b = TestData.config(32, 32, 8, 128, 1024);
        String msg = failure(() -> s.withDenseLayers(DenseLayers.of(0, 40)).validate(llama8b));
        assertTrue(msg.contains("layer 40") && msg.contains("32 layers"), msg);
        s.withDenseLayers(DenseLayers.of(0, 16)).validate(llama8b); // fine
        assertThrows(IllegalArgumentException.class, () -> s.withDenseLayers(DenseLayers.of(0, 40)).factory().create(llama8b));
    }

    @Test
    void flagsAreConsumedAndTheRestLeftForTheCaller() {
        Map<String, String> flags = Flags.parse(new String[]{"--attention", "magicpig", "--lsh-k=11", "--lsh-l", "300", "--lsh-threshold", "3",
                "--sink", "8", "--local", "128", "--dense-layers", "0,16", "--budget", "2%", "--seed", "42", "--out", "x", "--verbose"});
        AttentionSettings s = AttentionSettings.fromFlags(flags);
        assertEquals(AttentionSettings.Mode.MAGICPIG, s.mode());
        assertEquals(11, s.lshK());
        assertEquals(300, s.lshL());
        assertEquals(3, s.lshThreshold());
        assertEquals(8, s.sink());
        assertEquals(128, s.local());
        assertEquals(DenseLayers.of(0, 16), s.denseLayers());
        assertEquals(Budget.fraction(0.02), s.budget());
        assertEquals(42, s.seed());
        assertEquals(Map.of("out", "x", "verbose", "true"), flags);
        assertTrue(failure(() -> AttentionSettings.fromFlags(Flags.parse(new String[]{"--lsh-k", "ten"}))).contains("--lsh-k"));
        assertTrue(failure(() -> Flags.requireEmpty(Map.of("bogus", "1"))).contains("--bogus"));
    }

    @Test
    void denseLayerSpecsAndBudgetsRoundTrip() {
        assertEquals(DenseLayers.every(16), DenseLayers.parse("every16"));
        assertEquals(DenseLayers.every(16), DenseLayers.parse("every 16"));
        assertEquals(DenseLayers.NONE, DenseLayers.parse("none"));
        assertTrue(DenseLayers.parse("all").contains(7));
        for (String spec : new String[]{"every16", "none", "all", "0,16,31"}) assertEquals(spec, DenseLayers.parse(spec).toString());
        assertEquals(Budget.fraction(0.02), Budget.parse("0.02"));
        assertEquals(Budget.count(2048), Budget.parse("2048"));
        assertEquals(41, Budget.fraction(0.02).keys(2048));
        assertEquals(2048, Budget.count(5000).keys(2048));
        assertEquals(1, Budget.fraction(0.0001).keys(100));
    }

    @Test
    void eachModeHasAFactory() {
        LlamaConfig c = TestData.config(2, 4, 2, 16, 64);
        AttentionSettings s = AttentionSettings.defaults();
        Map<AttentionSettings.Mode, Class<?>> expected = Map.of(
                AttentionSettings.Mode.DENSE, DenseAttention.class,
                AttentionSettings.Mode.MAGICPIG, MagicPigAttention.class,
                AttentionSettings.Mode.TOPK, TopKAttention.class,
                AttentionSettings.Mode.QUEST, QuestAttention.class,
                AttentionSettings.Mode.ORACLE_SAMPLING, OracleSamplingAttention.class);
        for (var e : expected.entrySet()) {
            try (Attention a = s.withMode(e.getKey()).factory().create(c)) {
                assertEquals(e.getValue(), a.getClass());
            }
        }
    }
}
