package magicpig.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import magicpig.cluster.SequenceClient;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible endpoints: {@code POST /v1/completions}, {@code POST /v1/chat/completions},
 * {@code GET /v1/models}, and {@code GET /health} and {@code GET /ready} for orchestrators. Each
 * request is checked in the order a client can fix it: key (401), body size (413), UTF-8 and JSON
 * (400), parameters (400, 404 for the model), readiness (503), admission (429).
 */
final class OpenAiApi {
    private static final Logger log = LoggerFactory.getLogger(OpenAiApi.class);
    private static final ObjectMapper STRICT = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final DashboardPage DASHBOARD = DashboardPage.fromClasspath();

    private final ServedModel model;
    private final GatewaySettings settings;
    private final SequenceClient client;
    private final ClusterCapacity capacity;
    private final Admission admission;
    private final Materializer materializer;
    private final long started = Instant.now().getEpochSecond();
    private final List<byte[]> keys;
    private final DashboardFeed feed;

    OpenAiApi(ServedModel model, GatewaySettings settings, SequenceClient client, ClusterCapacity capacity, Admission admission,
              Materializer materializer, DashboardFeed feed) {
        this.feed = feed;
        this.model = model;
        this.settings = settings;
        this.client = client;
        this.capacity = capacity;
        this.admission = admission;
        this.materializer = materializer;
        this.keys = settings.apiKeys().stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
    }

    /** Answers one request; never fails: every problem becomes an OpenAI error response. */
    CompletionStage<HttpResponse> handle(HttpRequest req, ClientConnection connection) {
        CompletionStage<HttpResponse> answer;
        try {
            answer = route(req, connection);
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        return answer.exceptionally(t -> {
            Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            if (c instanceof ApiError e) {
                req.discardEntityBytes(materializer);
                return e.response();
            }
            log.error("request {} {} failed", req.method().value(), req.getUri().path(), c);
            return ApiError.internal("internal error (" + c.getClass().getSimpleName() + "); see the server log").response();
        });
    }

    private CompletionStage<HttpResponse> route(HttpRequest req, ClientConnection connection) {
        String path = req.getUri().path();
        boolean get = req.method().equals(HttpMethods.GET), post = req.method().equals(HttpMethods.POST);
        CompletionStage<HttpResponse> observed = feed.route(req, path); // /metrics, /dashboard/state, /dashboard/events
        if (observed != null) return observed;
        switch (path) {
            case "/health" -> {
                if (!get) throw ApiError.methodNotAllowed("use GET " + path);
                return done(Json.response(StatusCodes.OK, Json.object().put("status", "ok")));
            }
            case "/ready" -> {
                if (!get) throw ApiError.methodNotAllowed("use GET " + path);
                ready();
                return done(Json.response(StatusCodes.OK, Json.object().put("status", "ready").put("workers", capacity.workers())
                        .put("in_flight", admission.inFlight()).put("admission_limit", admission.limit())));
            }
            case "/v1/models" -> {
                if (!get) throw ApiError.methodNotAllowed("use GET " + path);
                authorize(req);
                return done(Json.response(StatusCodes.OK, OpenAiJson.models(model.name(), started)));
            }
            case "/v1/completions", "/v1/chat/completions" -> {
                if (!post) throw ApiError.methodNotAllowed("use POST " + path);
                authorize(req);
                boolean chat = path.equals("/v1/chat/completions");
                return body(req).thenCompose(json -> generate(json, chat, connection));
            }
            default -> {
                if (DashboardPage.covers(path) && get) {
                    HttpResponse page = DASHBOARD.serve(req);
                    if (page != null) return done(page);
                }
                if (path.startsWith("/v1/models/") && get) {
                    authorize(req);
                    String id = path.substring("/v1/models/".length());
                    if (!id.equals(model.name())) throw ApiError.notFound("The model '" + id + "' does not exist", "model", "model_not_found");
                    return done(Json.response(StatusCodes.OK, OpenAiJson.model(model.name(), started)));
                }
                throw ApiError.notFound("unknown path " + path + " (this server has /v1/completions, /v1/chat/completions, "
                        + "/v1/models, /health, /ready, /dashboard)", null, "unknown_url");
            }
        }
    }

    private CompletionStage<HttpResponse> generate(JsonNode json, boolean chat, ClientConnection connection) {
        CompletionRequest request = CompletionRequest.parse(json, chat, model);
        ready();
        if (!admission.tryAcquire()) {
            long wait = Math.max(1, settings.retryAfter().toSeconds());
            throw ApiError.overloaded("the server is at its limit of " + admission.limit() + " requests in flight for "
                    + model.name() + "; retry after " + wait + " s", wait);
        }
        String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong())
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        try {
            return new CompletionRun(id, request, model, admission, settings.keepAlive()).start(client, connection);
        } catch (RuntimeException e) {
            admission.release();
            throw e;
        }
    }

    private void ready() {
        String why = capacity.notReady();
        if (why != null) throw ApiError.unavailable(why);
    }

    private void authorize(HttpRequest req) {
        if (keys.isEmpty()) return;
        Optional<String> auth = req.getHeader("Authorization").map(h -> h.value());
        if (auth.isEmpty() || !auth.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw ApiError.unauthorized("You didn't provide an API key. Send it as 'Authorization: Bearer KEY'.");
        }
        byte[] given = auth.get().substring(7).strip().getBytes(StandardCharsets.UTF_8);
        for (byte[] k : keys) if (MessageDigest.isEqual(k, given)) return;
        throw ApiError.unauthorized("Incorrect API key provided.");
    }

    /** The body as JSON: at most max-body bytes (413), valid UTF-8 and one JSON value (400). */
    private CompletionStage<JsonNode> body(HttpRequest req) {
        long limit = settings.maxBodyBytes();
        if (req.entity().getContentLengthOption().orElse(0L) > limit) throw ApiError.tooLarge(limit);
        return req.entity().withSizeLimit(limit).toStrict(settings.requestTimeout().toMillis(), materializer)
                .handle((strict, t) -> {
                    if (t != null) {
                        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
                        if (c instanceof EntityStreamSizeException) throw ApiError.tooLarge(limit);
                        throw ApiError.badRequest("could not read the request body: " + c.getMessage(), null);
                    }
                    return parse(strict.getData());
                });
    }

    static JsonNode parse(ByteString bytes) {
        if (bytes.isEmpty()) throw ApiError.badRequest("the request body is empty; send a JSON object", null);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes.toArray())).toString();
        } catch (CharacterCodingException e) {
            throw ApiError.badRequest("the request body is not valid UTF-8", null);
        }
        try {
            return STRICT.readTree(text);
        } catch (JsonProcessingException e) {
            var where = e.getLocation();
            throw ApiError.badRequest("the request body is not valid JSON: " + e.getOriginalMessage()
                    + (where == null ? "" : " (line " + where.getLineNr() + ", column " + where.getColumnNr() + ")"), null);
        }
    }

    private static <T> CompletionStage<T> done(T value) {
        return CompletableFuture.completedFuture(value);
    }
}
