package magicpig.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.junit.jupiter.api.Test;

/** The dashboard's files as the build put them on the test classpath: types, caching, and what is left to the feed. */
class DashboardPageTest {
    static final DashboardPage PAGE = DashboardPage.fromClasspath();

    static String header(HttpResponse r, String name) {
        return r.getHeader(name).map(h -> h.value()).orElse(null);
    }

    static String body(HttpResponse r) throws Exception {
        return new String(((org.apache.pekko.http.javadsl.model.HttpEntity.Strict) r.entity()).getData().toArray(), StandardCharsets.UTF_8);
    }

    @Test
    void thePageNamesItsAssetsWithTheVersionAndIsRevalidated() throws Exception {
        for (String path : new String[] {"/dashboard", "/dashboard/"}) {
            HttpResponse r = PAGE.serve(HttpRequest.GET(path));
            assertEquals(200, r.status().intValue());
            assertEquals("text/html; charset=UTF-8", r.entity().getContentType().toString());
            assertEquals("no-cache", header(r, "Cache-Control"));
            assertNotNull(header(r, "ETag"));
            String html = body(r);
            assertTrue(html.contains("/dashboard/dashboard.js?v=" + PAGE.version()), html);
            assertFalse(html.contains("%VERSION%"), "every version mark is replaced");
            assertFalse(html.matches("(?s).*(https?:)?//[a-z].*\\.(js|css).*"), "no asset from another host");
        }
    }

    @Test
    void assetsHaveTheirTypesAndAreCachedForAYearOnlyWithTheCurrentVersion() throws Exception {
        HttpResponse js = PAGE.serve(HttpRequest.GET("/dashboard/dashboard.js?v=" + PAGE.version()));
        assertEquals("text/javascript; charset=UTF-8", js.entity().getContentType().toString());
        assertEquals("public, max-age=31536000, immutable", header(js, "Cache-Control"));
        assertEquals("nosniff", header(js, "X-Content-Type-Options"));
        assertEquals("no-cache", header(PAGE.serve(HttpRequest.GET("/dashboard/dashboard.js?v=stale")), "Cache-Control"));
        assertEquals("no-cache", header(PAGE.serve(HttpRequest.GET("/dashboard/dashboard.js")), "Cache-Control"));
        assertEquals("text/css; charset=UTF-8", PAGE.serve(HttpRequest.GET("/dashboard/dashboard.css")).entity().getContentType().toString());
    }

    @Test
    void anUnchangedFileIsAnswered304() throws Exception {
        String etag = header(PAGE.serve(HttpRequest.GET("/dashboard/dashboard.css")), "ETag");
        HttpResponse again = PAGE.serve(HttpRequest.GET("/dashboard/dashboard.css").addHeader(RawHeader.create("If-None-Match", "W/" + etag)));
        assertEquals(304, again.status().intValue());
        assertEquals(0, body(again).length());
        assertEquals(200, PAGE.serve(HttpRequest.GET("/dashboard/dashboard.css").addHeader(RawHeader.create("If-None-Match", "\"other\"")))
                .status().intValue());
    }

    @Test
    void otherPathsAreLeftToTheFeedAndTheRestOfTheApi() {
        assertNull(PAGE.serve(HttpRequest.GET("/dashboard/state")), "the feed's route");
        assertNull(PAGE.serve(HttpRequest.GET("/dashboard/events")));
        assertNull(PAGE.serve(HttpRequest.GET("/dashboard/../pom.xml")));
        assertNull(PAGE.serve(HttpRequest.GET("/dashboard/dashboard/index.html")));
        assertTrue(DashboardPage.covers("/dashboard") && DashboardPage.covers("/dashboard/x"));
        assertFalse(DashboardPage.covers("/dashboards"));
    }

    /** The build bundles the charts wherever npm is installed (and only there: without it the page has none). */
    @Test
    void chartsAreBundledWhenTheBuildHadNpm() {
        assertEquals(onPath("node") && onPath("npm"), PAGE.hasCharts());
    }

    private static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) return true;
        }
        return false;
    }
}
