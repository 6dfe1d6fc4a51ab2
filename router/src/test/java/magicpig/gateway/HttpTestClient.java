package magicpig.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** A plain HTTP client for the gateway tests: JSON requests, SSE streams read line by line, raw sockets. */
final class HttpTestClient {
    static final ObjectMapper JSON = new ObjectMapper();
    final int port;
    final String key;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    HttpTestClient(int port, String key) {
        this.port = port;
        this.key = key;
    }

    record Answer(int status, Map<String, List<String>> headers, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (Exception e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }

        String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(e -> e.getValue().get(0))
                    .findFirst().orElse(null);
        }
    }

    /** A streamed answer: its status, the data payloads in order, and when each line arrived (ns since the request). */
    record Stream_(int status, List<String> data, List<Long> arrivals, String raw) {
        List<JsonNode> chunks() {
            List<JsonNode> out = new ArrayList<>();
            for (String d : data) {
                if (d.equals("[DONE]")) continue;
                try {
                    out.add(JSON.readTree(d));
                } catch (Exception e) {
                    throw new AssertionError("bad chunk: " + d, e);
                }
            }
            return out;
        }
    }

    HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(120));
        if (key != null) b.header("Authorization", "Bearer " + key);
        return b;
    }

    Answer get(String path) throws Exception {
        return send(request(path).GET().build());
    }

    Answer post(String path, String body) throws Exception {
        return postBytes(path, body.getBytes(StandardCharsets.UTF_8));
    }

    Answer postBytes(String path, byte[] body) throws Exception {
        return send(request(path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    Answer send(HttpRequest r) throws Exception {
        HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        return new Answer(resp.statusCode(), resp.headers().map(), resp.body());
    }

    Stream_ stream(String path, String body) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<Stream<String>> resp = http.send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
        List<String> data = new ArrayList<>();
        List<Long> arrivals = new ArrayList<>();
        StringBuilder raw = new StringBuilder();
        try (Stream<String> lines = resp.body()) {
            lines.forEach(line -> {
                raw.append(line).append('\n');
                if (line.startsWith("data: ")) {
                    data.add(line.substring(6));
                    arrivals.add(System.nanoTime() - t0);
                }
            });
        }
        return new Stream_(resp.statusCode(), data, arrivals, raw.toString());
    }

    /** Opens a socket, sends a POST, reads until `marker` has arrived (or the answer ends), then hangs up. */
    String postAndHangUp(String path, String body, String marker) throws Exception {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(60));
            OutputStream out = s.getOutputStream();
            String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                    + "\r\n" + (key == null ? "" : "Authorization: Bearer " + key + "\r\n") + "\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            if (marker == null) return "";
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            StringBuilder seen = new StringBuilder();
            for (String line; (line = in.readLine()) != null; ) {
                seen.append(line).append('\n');
                if (seen.indexOf(marker) >= 0) break;
            }
            return seen.toString();
        }
    }

    /** Sends raw bytes (a request written by hand) and returns the whole answer. */
    String raw(byte[] request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
