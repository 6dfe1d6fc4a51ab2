package magicpig.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benches leave their results as a CSV file and a PNG chart, dense against MagicPIG, where asked. */
class BenchOutputTest {

    @Test
    void benchAttentionWritesOneCsvRowPerContextAndAChart(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("sub/attention.csv"), png = dir.resolve("sub/attention.png");
        MainTest.Run r = MainTest.run("bench", "attention", "--context", "1024,2048", "--heads", "4", "--kv-heads", "2", "--head-dim", "32",
                "--steps", "2", "--warmup-seconds", "0", "--warmup-steps", "2", "--alloc-steps", "2", "--lsh-k", "6", "--lsh-l", "20",
                "--csv", csv.toString(), "--png", png.toString());
        assertEquals(0, r.status(), r.err());
        List<String> lines = Files.readAllLines(csv);
        assertEquals(3, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).startsWith("context,dense_ms,magicpig_ms,dense_steps_per_s,magicpig_steps_per_s"), lines.get(0));
        assertTrue(lines.get(1).startsWith("1024,") && lines.get(2).startsWith("2048,"), String.join("\n", lines));
        for (String line : lines.subList(1, 3)) {
            String[] f = line.split(",");
            assertTrue(Double.parseDouble(f[3]) > 0 && Double.parseDouble(f[4]) > 0, "steps/s of both methods: " + line);
        }
        assertChart(png);
    }

    @Test
    void benchDecodeWritesARowPerAttentionAndContextAndAChart(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("decode.csv"), png = dir.resolve("decode.png");
        MainTest.Run r = MainTest.run("bench", "decode", "--model", "synthetic:tiny", "--context", "0,200", "--tokens", "2",
                "--bandwidth-mib", "16", "--attention", "dense,magicpig", "--lsh-k", "6", "--lsh-l", "20", "--csv", csv.toString(), "--png", png.toString());
        assertEquals(0, r.status(), r.err());
        List<String> lines = Files.readAllLines(csv);
        assertEquals(List.of("attention,context", "dense,0", "magicpig,0", "dense,200", "magicpig,200"),
                lines.stream().map(l -> l.split(",")[0] + "," + l.split(",")[1]).toList());
        assertTrue(r.out().contains("| magicpig | 200 |"), r.out());
        assertChart(png);
        MainTest.Run bad = MainTest.run("bench", "decode", "--model", "synthetic:tiny", "--attention", "dense,sparse", "--csv", csv.toString());
        assertEquals(2, bad.status(), bad.err());
        assertTrue(bad.err().contains("sparse"), bad.err());
    }

    /** A PNG with both lines on it: pixels of the dense (red) and the MagicPIG (blue) colours. */
    private static void assertChart(Path png) throws Exception {
        BufferedImage img = ImageIO.read(png.toFile());
        assertTrue(img.getWidth() > 400 && img.getHeight() > 300, img.getWidth() + "x" + img.getHeight());
        boolean red = false, blue = false;
        for (int y = 60; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                red |= rgb == 0xD62728;
                blue |= rgb == 0x1F77B4;
            }
        }
        assertTrue(red && blue, "both lines are drawn below the legend");
    }
}
