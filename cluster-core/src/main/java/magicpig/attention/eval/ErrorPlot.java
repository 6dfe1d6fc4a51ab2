package magicpig.attention.eval;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * The eval's figure: one panel per workload, fraction of keys touched (log x) against relative
 * error of the attention output, one line per method. Plain Java2D into a PNG, headless.
 */
final class ErrorPlot {
    private static final int PANEL_W = 420, PANEL_H = 300, MARGIN = 56, LEGEND_H = 40;
    private static final Color[] COLORS = {new Color(0xD62728), new Color(0x1F77B4), new Color(0x2CA02C), new Color(0x9467BD), new Color(0xFF7F0E)};

    private ErrorPlot() {}

    /** A point of one method's line in one panel. */
    record Point(String workload, String method, double fraction, double error) {}

    static void write(List<Point> points, List<String> methods, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Map<String, List<Point>> panels = new LinkedHashMap<>();
        for (Point p : points) panels.computeIfAbsent(p.workload(), k -> new ArrayList<>()).add(p);
        int cols = Math.min(4, Math.max(1, panels.size()));
        int rows = (panels.size() + cols - 1) / cols;
        int width = cols * (PANEL_W + MARGIN) + MARGIN;
        int height = rows * (PANEL_H + MARGIN) + MARGIN + LEGEND_H;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        // legend
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        int lx = MARGIN;
        for (int m = 0; m < methods.size(); m++) {
            g.setColor(COLORS[m % COLORS.length]);
            g.setStroke(new BasicStroke(2.5f));
            g.drawLine(lx, 22, lx + 28, 22);
            g.fillOval(lx + 10, 18, 8, 8);
            g.setColor(Color.BLACK);
            g.drawString(methods.get(m), lx + 34, 27);
            lx += 44 + g.getFontMetrics().stringWidth(methods.get(m)) + 20;
        }
        int i = 0;
        for (Map.Entry<String, List<Point>> e : panels.entrySet()) {
            int x0 = MARGIN + (i % cols) * (PANEL_W + MARGIN);
            int y0 = LEGEND_H + MARGIN / 2 + (i / cols) * (PANEL_H + MARGIN);
            panel(g, e.getKey(), e.getValue(), methods, x0, y0);
            i++;
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    private static void panel(Graphics2D g, String title, List<Point> pts, List<String> methods, int x0, int y0) {
        double fMin = Double.MAX_VALUE, fMax = 0, eMax = 0;
        for (Point p : pts) {
            fMin = Math.min(fMin, p.fraction());
            fMax = Math.max(fMax, p.fraction());
            eMax = Math.max(eMax, p.error());
        }
        double lo = Math.floor(Math.log10(fMin * 100)), hi = Math.ceil(Math.log10(fMax * 100));
        if (hi <= lo) hi = lo + 1;
        double yMax = niceCeil(eMax * 1.05);
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1f));
        g.drawRect(x0, y0, PANEL_W, PANEL_H);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, x0 + 6, y0 - 6);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        FontMetrics fm = g.getFontMetrics();
        // x ticks: decades of percent, with 2x and 5x minor ticks
        for (double dec = lo; dec <= hi; dec++) {
            for (int mult : new int[]{1, 2, 5}) {
                double v = Math.log10(mult) + dec;
                if (v > hi + 1e-9) break;
                int x = x0 + (int) Math.round((v - lo) / (hi - lo) * PANEL_W);
                g.setColor(mult == 1 ? new Color(0xDDDDDD) : new Color(0xF0F0F0));
                g.drawLine(x, y0, x, y0 + PANEL_H);
                g.setColor(Color.BLACK);
                String label = formatPercent(mult * Math.pow(10, dec));
                if (mult == 1 || hi - lo <= 1) g.drawString(label, x - fm.stringWidth(label) / 2, y0 + PANEL_H + 14);
            }
        }
        String xl = "keys touched (% of context, log scale)";
        g.drawString(xl, x0 + (PANEL_W - fm.stringWidth(xl)) / 2, y0 + PANEL_H + 30);
        for (int t = 0; t <= 4; t++) {
            double v = yMax * t / 4;
            int y = y0 + PANEL_H - (int) Math.round(v / yMax * PANEL_H);
            g.setColor(new Color(0xDDDDDD));
            g.drawLine(x0, y, x0 + PANEL_W, y);
            g.setColor(Color.BLACK);
            String label = v == 0 ? "0" : String.format(java.util.Locale.ROOT, "%.3g", v);
            g.drawString(label, x0 - fm.stringWidth(label) - 4, y + 4);
        }
        Graphics2D rot = (Graphics2D) g.create();
        rot.rotate(-Math.PI / 2);
        rot.drawString("relative L2 error", -(y0 + PANEL_H / 2 + 45), x0 - 42);
        rot.dispose();
        for (int m = 0; m < methods.size(); m++) {
            String method = methods.get(m);
            List<Point> line = pts.stream().filter(p -> p.method().equals(method)).sorted(java.util.Comparator.comparingDouble(Point::fraction)).toList();
            g.setColor(COLORS[m % COLORS.length]);
            g.setStroke(new BasicStroke(2.2f));
            int px = -1, py = -1;
            for (Point p : line) {
                int x = x0 + (int) Math.round((Math.log10(p.fraction() * 100) - lo) / (hi - lo) * PANEL_W);
                int y = y0 + PANEL_H - (int) Math.round(Math.min(p.error(), yMax) / yMax * PANEL_H);
                if (px >= 0) g.drawLine(px, py, x, y);
                g.fillOval(x - 4, y - 4, 8, 8);
                px = x;
                py = y;
            }
        }
    }

    private static String formatPercent(double v) {
        return (v >= 1 ? String.format(java.util.Locale.ROOT, "%.0f", v) : String.format(java.util.Locale.ROOT, "%.2g", v)) + "%";
    }

    private static double niceCeil(double v) {
        if (v <= 0) return 1;
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[]{1, 2, 2.5, 5, 10}) if (m * p >= v) return m * p;
        return 10 * p;
    }
}
