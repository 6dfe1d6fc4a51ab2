package magicpig.gateway;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import magicpig.cluster.SequenceClient;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * One admitted request, from submission to its last byte: it relays the sequence's events as text
 * (a whole answer, or server-sent events flushed per token), ends the sequence early on a stop
 * string, and cancels it when the client goes away or stops reading. Its admission slot is given
 * back exactly once, whichever way it ends.
 */
final class CompletionRun {
    private static final ByteString DONE = ByteString.fromString("data: [DONE]\n\n");
    private static final ByteString KEEP_ALIVE = ByteString.fromString(": keep-alive\n\n");
    /** Chunks buffered for a client that reads slower than tokens come; past it the client is taken to be gone. */
    private static final int STREAM_BUFFER = 1024;

    private final String id;
    private final CompletionRequest request;
    private final String modelName;
    private final Admission admission;
    private final Duration keepAlive;
    private final long created = Instant.now().getEpochSecond();
    private final TextStream text;
    /** The first event: the worker took the sequence (or the cluster refused it). */
    private final CompletableFuture<SequenceEvent> first = new CompletableFuture<>();
    /** Completes when the generation is over, however it ended. */
    private final CompletableFuture<Void> over = new CompletableFuture<>();

    private final Runnable onHangUp = this::abort;

    // guarded by this
    private SequenceClient.Handle handle;
    private ClientConnection connection;
    private final StringBuilder whole = new StringBuilder();
    private final List<ByteString> early = new ArrayList<>();
    private BoundedSourceQueue<ByteString> queue;
    private boolean ended, released, completeOnAttach;
    private int completionTokens;
    private String finish, error;

    CompletionRun(String id, CompletionRequest request, ServedModel model, Admission admission, Duration keepAlive) {
        this.id = id;
        this.request = request;
        this.modelName = model.name();
        this.admission = admission;
        this.keepAlive = keepAlive;
        int[] p = request.prompt();
        this.text = new TextStream(model.tokenizer(), request.stop(), p[p.length - 1]);
    }

    /** Submits the sequence; the response comes once the worker admitted it (streams) or the answer is complete. */
    CompletionStage<HttpResponse> start(SequenceClient client, ClientConnection connection) {
        synchronized (this) { // events wait until the handle is known
            this.connection = connection;
            handle = client.generate(new GenerationRequest(id, request.prompt(), request.maxTokens(), request.sampling(),
                    request.attention()), this::onEvent);
        }
        connection.join(onHangUp);
        if (request.stream()) {
            return first.thenApply(e -> e instanceof SequenceEvent.Failed ? refusal(error).response() : streamResponse());
        }
        return over.thenApply(v -> {
            synchronized (this) {
                if (error != null) return refusal(error).response();
                return Json.response(StatusCodes.OK, OpenAiJson.completion(id, request.chat(), created, modelName, whole.toString(),
                        finish, OpenAiJson.usage(request.prompt().length, completionTokens)));
            }
        });
    }

    /** Events of the sequence, in order, from the subscriber actor. */
    private synchronized void onEvent(SequenceEvent e) {
        if (ended) return;
        if (!(e instanceof SequenceEvent.Failed) && !first.isDone()) {
            if (request.chat() && request.stream()) offer(chunk(null, true, null));
            first.complete(e);
        }
        switch (e) {
            case SequenceEvent.Admitted a -> { }
            case SequenceEvent.Logits l -> { } // never asked for here
            case SequenceEvent.Token t -> {
                completionTokens++;
                emit(text.push(t.token()));
                if (text.stopped()) {
                    handle.cancel().run();
                    end("stop");
                }
            }
            case SequenceEvent.Finished f -> {
                emit(text.finish());
                end(f.reason());
            }
            case SequenceEvent.Failed f -> fail(f.error());
        }
    }

    private void emit(String piece) {
        if (piece.isEmpty()) return;
        if (request.stream()) offer(chunk(piece, false, null));
        else whole.append(piece);
    }

    private void end(String reason) {
        ended = true;
        finish = reason;
        if (request.stream()) {
            offer(chunk(request.chat() ? null : "", false, reason));
            if (request.includeUsage()) {
                offer(sse(OpenAiJson.usageChunk(id, request.chat(), created, modelName,
                        OpenAiJson.usage(request.prompt().length, completionTokens))));
            }
            offer(DONE);
        }
        finishUp();
    }

    /** The cluster could not run or continue the sequence. Before the first token that is the response; after, an error event. */
    private void fail(String message) {
        ended = true;
        error = message;
        if (request.stream() && first.isDone()) offer(sse(refusal(message).body()));
        finishUp();
        first.complete(new SequenceEvent.Failed(id, message));
    }

    /** The client went away, stopped reading, or the stream was cancelled: stop the sequence. */
    private synchronized void abort() {
        if (ended) return;
        ended = true;
        error = "the client went away";
        handle.cancel().run();
        finishUp();
        first.complete(new SequenceEvent.Failed(id, error));
    }

    private void finishUp() {
        connection.leave(onHangUp);
        if (queue != null) queue.complete();
        else completeOnAttach = true;
        if (!released) {
            released = true;
            admission.release();
        }
        over.complete(null);
    }

    private void offer(ByteString chunk) {
        if (queue == null) {
            early.add(chunk);
        } else if (!queue.isCompleted() && !queue.offer(chunk).isEnqueued()) {
            abortLater();
        }
    }

    /** From inside a synchronized event: the slow client's sequence is cancelled right after. */
    private void abortLater() {
        CompletableFuture.runAsync(this::abort);
    }

    private synchronized void attach(BoundedSourceQueue<ByteString> q) {
        queue = q;
        for (ByteString b : early) offer(b);
        early.clear();
        if (completeOnAttach) q.complete();
    }

    private HttpResponse streamResponse() {
        Source<ByteString, NotUsed> events = Source.<ByteString>queue(STREAM_BUFFER)
                .mapMaterializedValue(q -> {
                    attach(q);
                    return NotUsed.getInstance();
                })
                .keepAlive(keepAlive, () -> KEEP_ALIVE)
                .watchTermination((mat, done) -> {
                    done.whenComplete((d, t) -> abort());
                    return mat;
                });
        return HttpResponse.create()
                .withEntity(HttpEntities.createChunked(ContentTypes.create(MediaTypes.TEXT_EVENT_STREAM), events))
                .addHeader(RawHeader.create("Cache-Control", "no-cache"))
                .addHeader(RawHeader.create("X-Accel-Buffering", "no"));
    }

    private ByteString chunk(String piece, boolean role, String finishReason) {
        return sse(OpenAiJson.chunk(id, request.chat(), created, modelName, piece, role, finishReason, request.includeUsage()));
    }

    private static ByteString sse(com.fasterxml.jackson.databind.JsonNode json) {
        return ByteString.fromString("data: " + Json.write(json) + "\n\n");
    }

    /** What the cluster's refusal means to a client. */
    private static ApiError refusal(String message) {
        if (message.contains(" is full")) return ApiError.overloaded("the workers are full: " + message, 1);
        if (message.contains("no transformer worker")) return ApiError.unavailable(message);
        return ApiError.internal("generation failed: " + message);
    }
}
