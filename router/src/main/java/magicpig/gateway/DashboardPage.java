package magicpig.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The files of the cluster dashboard: {@code GET /dashboard} is the page, {@code GET /dashboard/NAME}
 * one of its scripts or style sheets. They are read once from the classpath ({@code dashboard/},
 * where the router's build puts our page and the npm-installed uPlot), so the page works offline.
 * The live data comes from the feed at {@code /dashboard/state} and {@code /dashboard/events}, which
 * this class does not serve.
 *
 * <p>Caching: the page names its assets with {@code ?v=VERSION}, a hash of every file, so an asset
 * asked for with the current version is cached for a year ({@code immutable}); the page itself, and
 * an asset asked for without it, are revalidated on every load ({@code no-cache} with an ETag, 304
 * when unchanged).
 */
final class DashboardPage {
    static final String PATH = "/dashboard";
    /** Files the page may have; the uPlot ones are absent from a build without npm (no charts then). */
    private static final List<String> FILES = List.of("index.html", "dashboard.js", "dashboard.css",
            "uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE.txt");
    private static final String VERSION_MARK = "%VERSION%";

    private record Asset(byte[] bytes, ContentType type, String etag) {}

    private final Map<String, Asset> assets;
    private final String version;

    private DashboardPage(Map<String, Asset> assets, String version) {
        this.assets = assets;
        this.version = version;
    }

    /** The page as built into this classpath; a page with no files answers 404 saying so. */
    static DashboardPage fromClasspath() {
        Map<String, byte[]> found = new LinkedHashMap<>();
        for (String name : FILES) {
            try (InputStream in = DashboardPage.class.getClassLoader().getResourceAsStream("dashboard/" + name)) {
                if (in != null) found.put(name, in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the dashboard file " + name + " from the classpath", e);
            }
        }
        MessageDigest all = sha256();
        for (var e : found.entrySet()) {
            all.update(e.getKey().getBytes(StandardCharsets.UTF_8));
            all.update(e.getValue());
        }
        String version = HexFormat.of().formatHex(all.digest(), 0, 6);
        Map<String, Asset> assets = new LinkedHashMap<>();
        for (var e : found.entrySet()) {
            byte[] bytes = e.getKey().equals("index.html")
                    ? new String(e.getValue(), StandardCharsets.UTF_8).replace(VERSION_MARK, version).getBytes(StandardCharsets.UTF_8)
                    : e.getValue();
            String etag = "\"" + HexFormat.of().formatHex(sha256().digest(bytes), 0, 8) + "\"";
            assets.put(e.getKey(), new Asset(bytes, contentType(e.getKey()), etag));
        }
        return new DashboardPage(assets, version);
    }

    /** Whether path belongs to the dashboard (the page, its files or its feed). */
    static boolean covers(String path) {
        return path.equals(PATH) || path.startsWith(PATH + "/");
    }

    /**
     * The answer to a GET of {@code /dashboard} or {@code /dashboard/NAME}; null when the path names
     * none of the page's files, so that the caller can try its other routes.
     */
    HttpResponse serve(HttpRequest req) {
        String path = req.getUri().path();
        String name = path.equals(PATH) || path.equals(PATH + "/") ? "index.html" : path.substring(PATH.length() + 1);
        Asset asset = assets.get(name);
        if (asset == null) {
            if (!name.equals("index.html")) return null;
            throw ApiError.notFound("the dashboard page was not built into this server (its build put no dashboard/index.html "
                    + "on the classpath)", null, "unknown_url");
        }
        boolean versioned = !name.equals("index.html") && version.equals(req.getUri().query().get("v").orElse(null));
        String cache = versioned ? "public, max-age=31536000, immutable" : "no-cache";
        var headers = List.<HttpHeader>of(RawHeader.create("Cache-Control", cache), RawHeader.create("ETag", asset.etag()),
                RawHeader.create("X-Content-Type-Options", "nosniff"));
        String ifNoneMatch = req.getHeader("If-None-Match").map(h -> h.value()).orElse("");
        if (matches(ifNoneMatch, asset.etag())) return HttpResponse.create().withStatus(StatusCodes.NOT_MODIFIED).addHeaders(headers);
        return HttpResponse.create().withStatus(StatusCodes.OK).addHeaders(headers).withEntity(asset.type(), asset.bytes());
    }

    /** The hash the page's asset URLs carry. */
    String version() {
        return version;
    }

    /** Whether the page has its charts (uPlot was installed when it was built). */
    boolean hasCharts() {
        return assets.containsKey("uPlot.iife.min.js");
    }

    private static boolean matches(String ifNoneMatch, String etag) {
        for (String t : ifNoneMatch.split(",")) {
            String tag = t.strip();
            if (tag.startsWith("W/")) tag = tag.substring(2);
            if (tag.equals(etag) || tag.equals("*")) return true;
        }
        return false;
    }

    private static ContentType contentType(String name) {
        String ext = name.substring(name.lastIndexOf('.') + 1);
        return switch (ext) {
            case "html" -> ContentTypes.TEXT_HTML_UTF8;
            case "js" -> ContentTypes.parse("text/javascript; charset=UTF-8");
            case "css" -> ContentTypes.parse("text/css; charset=UTF-8");
            case "txt" -> ContentTypes.TEXT_PLAIN_UTF8;
            default -> ContentTypes.APPLICATION_OCTET_STREAM;
        };
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
