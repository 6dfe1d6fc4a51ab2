package magicpig.attention.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import magicpig.attention.AttentionSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AttentionEvalTest {

    private static AttentionEval.Row row(List<AttentionEval.Row> rows, String method) {
        return rows.stream().filter(r -> r.method().equals(method)).findFirst().orElseThrow();
    }

    /** Aggregation: many medium weights. Sampling keeps the tail TopK drops. */
    @Test
    void flatRegimeMagicPigBeatsTopKAtTheSameFraction() {
        SyntheticWorkload w = new SyntheticWorkload(SyntheticWorkload.Regime.FLAT, 8192, 64, 8, 3);
        List<AttentionEval.Row> rows = AttentionEval.evaluate(w, AttentionSettings.magicPig().withSeed(3), new int[][]{{9, 120}});
        AttentionEval.Row mp = row(rows, "magicpig"), topk = row(rows, "topk");
        assertEquals(mp.touched(), topk.touched(), 0.002, "matched fractions");
        assertTrue(mp.touched() < 0.1, "fraction " + mp.touched());
        assertTrue(mp.error() < 0.6 * topk.error(), "magicpig " + mp.error() + " vs topk " + topk.error());
    }

    /** Retrieval: a few keys carry the weight; both methods find them. */
    @Test
    void needleRegimeBothAreNearExact() {
        SyntheticWorkload w = new SyntheticWorkload(SyntheticWorkload.Regime.NEEDLE, 8192, 64, 8, 4);
        List<AttentionEval.Row> rows = AttentionEval.evaluate(w, AttentionSettings.magicPig().withSeed(4), new int[][]{{9, 120}});
        assertTrue(row(rows, "magicpig").error() < 0.05, "magicpig " + row(rows, "magicpig").error());
        assertTrue(row(rows, "topk").error() < 0.05, "topk " + row(rows, "topk").error());
    }

    @Test
    void writesTheTableAndThePlot(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = AttentionEval.run(new String[]{"--out", dir.toString(), "--contexts", "2048", "--queries", "2", "--head-dim", "32",
                "--sweep", "6x20,8x40", "--workloads", "flat"}, new PrintStream(out), new PrintStream(err));
        assertEquals(0, rc, err.toString());
        String table = Files.readString(dir.resolve("attention.md"));
        assertTrue(table.contains("| workload | method | keys touched % | relative error |"));
        assertEquals(8, table.lines().filter(l -> l.startsWith("| flat-2K |")).count());
        assertEquals(table, out.toString());
        assertNotNull(ImageIO.read(dir.resolve("attention.png").toFile()));
        assertEquals(2, AttentionEval.run(new String[]{"--lsh-k", "20"}, new PrintStream(out), new PrintStream(err)));
        assertTrue(err.toString().contains("--lsh-k"));
    }
}
