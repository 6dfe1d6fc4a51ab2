package magicpig.attention.eval;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleFunction;
import javax.imageio.ImageIO;

/**
 * The figures of the evals and benches: one panel per group of points, one line per series, a
 * shared legend. Plain Java2D into a PNG, headless. The x axis is linear, or logarithmic in base 10
 * (ticks at 1, 2, 5 per decade) or base 2 (a tick per power, for context lengths); the y axis is
 * linear from 0, or logarithmic in base 10.
 */
public final class LineChart {
    private static final int PANEL_W = 420, PANEL_H = 300, MARGIN = 56, LEGEND_H = 40;
    private static final Color[] COLORS = {new Color(0xD62728), new Color(0x1F77B4), new Color(0x2CA02C), new Color(0x9467BD), new Color(0xFF7F0E)};

    private LineChart() {}

    public enum Scale { LINEAR, LOG10, LOG2 }

    /** An axis: its label, its scale, and how a tick value is written. */
    public record Axis(String label, Scale scale, DoubleFunction<String> format) {}

    /** A point of one series' line in one panel. */
    public record Point(String panel, String series, double x, double y) {}

    /** Writes the chart of points to file (PNG); series gives the legend's order and colours. */
    public static void write(List<Point> points, List<String> series, Axis x, Axis y, Path file) throws IOException {
        write(points, series, x, y, "", file);
    }

    /** The same, with a note (the setup) after the legend. */
    public static void write(List<Point> points, List<String> series, Axis x, Axis y, String note, Path file) throws IOException {
        if (y.scale() == Scale.LOG2) throw new IllegalArgumentException("the y axis is linear or log10");
        for (Point p : points) {
            if (x.scale() != Scale.LINEAR && !(p.x() > 0)) throw new IllegalArgumentException("x = " + p.x() + " on a log scale");
            if (y.scale() != Scale.LINEAR && !(p.y() > 0)) throw new IllegalArgumentException("y = " + p.y() + " on a log scale");
        }
        System.setProperty("java.awt.headless", "true");
        Map<String, List<Point>> panels = new LinkedHashMap<>();
        for (Point p : points) panels.computeIfAbsent(p.panel(), k -> new ArrayList<>()).add(p);
        int cols = Math.min(4, Math.max(1, panels.size()));
        int rows = Math.max(1, (panels.size() + cols - 1) / cols);
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
        for (int m = 0; m < series.size(); m++) {
            g.setColor(COLORS[m % COLORS.length]);
            g.setStroke(new BasicStroke(2.5f));
            g.drawLine(lx, 22, lx + 28, 22);
            g.fillOval(lx + 10, 18, 8, 8);
            g.setColor(Color.BLACK);
            g.drawString(series.get(m), lx + 34, 27);
            lx += 44 + g.getFontMetrics().stringWidth(series.get(m)) + 20;
        }
        g.setColor(Color.DARK_GRAY);
        g.drawString(note, lx + 20, 27);
        int i = 0;
        for (Map.Entry<String, List<Point>> e : panels.entrySet()) {
            int x0 = MARGIN + (i % cols) * (PANEL_W + MARGIN);
            int y0 = LEGEND_H + MARGIN / 2 + (i / cols) * (PANEL_H + MARGIN);
            panel(g, e.getKey(), e.getValue(), series, x, y, x0, y0);
            i++;
        }
        g.dispose();
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        ImageIO.write(img, "png", file.toFile());
    }

    /** Where values fall on an axis: [lo, hi] in scaled units, and the ticks (scaled) with their values. */
    private record Range(double lo, double hi, List<double[]> ticks) {
        double scaled(Scale s, double v) {
            return switch (s) {
                case LINEAR -> v;
                case LOG10 -> Math.log10(v);
                case LOG2 -> Math.log(v) / Math.log(2);
            };
        }
    }

    /** Ticks: {scaled position, value, 1 when labelled}. */
    private static Range range(Scale s, double min, double max) {
        List<double[]> ticks = new ArrayList<>();
        switch (s) {
            case LINEAR -> {
                double top = niceCeil(max * 1.05);
                for (int t = 0; t <= 4; t++) ticks.add(new double[] {top * t / 4, top * t / 4, 1});
                return new Range(0, top, ticks);
            }
            case LOG10 -> {
                double lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max));
                if (hi <= lo) hi = lo + 1;
                for (double dec = lo; dec <= hi; dec++) {
                    for (int mult : new int[] {1, 2, 5}) {
                        double v = Math.log10(mult) + dec;
                        if (v > hi + 1e-9) break;
                        ticks.add(new double[] {v, mult * Math.pow(10, dec), mult == 1 || hi - lo <= 1 ? 1 : 0});
                    }
                }
                return new Range(lo, hi, ticks);
            }
            default -> {
                double lo = Math.floor(Math.log(min) / Math.log(2) + 1e-9), hi = Math.ceil(Math.log(max) / Math.log(2) - 1e-9);
                if (hi <= lo) {
                    lo -= 1;
                    hi += 1;
                }
                int every = (int) Math.ceil((hi - lo + 1) / 10);
                for (double p = lo; p <= hi; p++) ticks.add(new double[] {p, Math.pow(2, p), (p - lo) % every == 0 ? 1 : 0});
                return new Range(lo, hi, ticks);
            }
        }
    }

    private static void panel(Graphics2D g, String title, List<Point> pts, List<String> series, Axis xAxis, Axis yAxis, int x0, int y0) {
        double xMin = Double.MAX_VALUE, xMax = -Double.MAX_VALUE, yMin = Double.MAX_VALUE, yMax = 0;
        for (Point p : pts) {
            xMin = Math.min(xMin, p.x());
            xMax = Math.max(xMax, p.x());
            yMin = Math.min(yMin, p.y());
            yMax = Math.max(yMax, p.y());
        }
        Range xr = range(xAxis.scale(), xMin, xMax), yr = range(yAxis.scale(), yMin, yMax);
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1f));
        g.drawRect(x0, y0, PANEL_W, PANEL_H);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, x0 + 6, y0 - 6);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        FontMetrics fm = g.getFontMetrics();
        for (double[] t : xr.ticks()) {
            int x = x0 + (int) Math.round((t[0] - xr.lo()) / (xr.hi() - xr.lo()) * PANEL_W);
            g.setColor(t[2] == 1 ? new Color(0xDDDDDD) : new Color(0xF0F0F0));
            g.drawLine(x, y0, x, y0 + PANEL_H);
            g.setColor(Color.BLACK);
            String label = xAxis.format().apply(t[1]);
            if (t[2] == 1) g.drawString(label, x - fm.stringWidth(label) / 2, y0 + PANEL_H + 14);
        }
        g.drawString(xAxis.label(), x0 + (PANEL_W - fm.stringWidth(xAxis.label())) / 2, y0 + PANEL_H + 30);
        for (double[] t : yr.ticks()) {
            int y = y0 + PANEL_H - (int) Math.round((t[0] - yr.lo()) / (yr.hi() - yr.lo()) * PANEL_H);
            g.setColor(t[2] == 1 ? new Color(0xDDDDDD) : new Color(0xF0F0F0));
            g.drawLine(x0, y, x0 + PANEL_W, y);
            g.setColor(Color.BLACK);
            String label = t[1] == 0 ? "0" : yAxis.format().apply(t[1]);
            if (t[2] == 1) g.drawString(label, x0 - fm.stringWidth(label) - 4, y + 4);
        }
        Graphics2D rot = (Graphics2D) g.create();
        rot.rotate(-Math.PI / 2);
        rot.drawString(yAxis.label(), -(y0 + PANEL_H / 2 + fm.stringWidth(yAxis.label()) / 2), x0 - 42);
        rot.dispose();
        for (int m = 0; m < series.size(); m++) {
            String name = series.get(m);
            List<Point> line = pts.stream().filter(p -> p.series().equals(name)).sorted(Comparator.comparingDouble(Point::x)).toList();
            g.setColor(COLORS[m % COLORS.length]);
            g.setStroke(new BasicStroke(2.2f));
            int px = -1, py = -1;
            for (Point p : line) {
                int x = x0 + (int) Math.round((xr.scaled(xAxis.scale(), p.x()) - xr.lo()) / (xr.hi() - xr.lo()) * PANEL_W);
                double sy = Math.min(yr.scaled(yAxis.scale(), p.y()), yr.hi());
                int y = y0 + PANEL_H - (int) Math.round((sy - yr.lo()) / (yr.hi() - yr.lo()) * PANEL_H);
                if (px >= 0) g.drawLine(px, py, x, y);
                g.fillOval(x - 4, y - 4, 8, 8);
                px = x;
                py = y;
            }
        }
    }

    /** 3 significant digits, the way tick labels read best. */
    public static String plain(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e6) return Long.toString((long) v);
        String s = String.format(Locale.ROOT, "%.3g", v);
        return s.contains("e") ? s : s.replaceFirst("0+$", "").replaceFirst("\\.$", "");
    }

    /** Token counts as 512, 1K, 2K, 128K (K = 1024). */
    public static String tokens(double v) {
        long n = Math.round(v);
        return n >= 1024 && n % 1024 == 0 ? (n / 1024) + "K" : Long.toString(n);
    }

    private static double niceCeil(double v) {
        if (v <= 0) return 1;
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) if (m * p >= v) return m * p;
        return 10 * p;
    }
}
