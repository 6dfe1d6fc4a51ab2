package magicpig.transport;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import magicpig.wire.AttentionQuery;
import magicpig.wire.BlockAck;
import magicpig.wire.BlockChunk;
import magicpig.wire.BlockFree;
import magicpig.wire.ErrorMessage;
import magicpig.wire.Hello;
import magicpig.wire.MessageHeader;
import magicpig.wire.MessageType;
import magicpig.wire.PartialStates;
import magicpig.wire.PayloadKind;
import magicpig.wire.WireFormatException;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.IdleStrategy;

/**
 * The client side of the data plane for one transformer worker: connects to shards, sends them
 * queries, block transfers and frees, and collects the replies by correlation id.
 *
 * <p><b>Threading and latency.</b> The request/response path runs on the caller's thread, with no
 * agent of its own: the thread that computed the queries of a layer sends them, then polls its
 * response subscription in {@link #awaitReplies} until every shard has answered, merging each
 * reply as it lands. That saves two thread hand-offs per layer (to a sender thread and back from
 * a receiver thread), each of which costs a wake-up of microseconds to tens of microseconds,
 * against one decode step that waits for every shard anyway. The wait uses the settings' worker
 * idle strategy. One endpoint is used by one thread at a time.
 *
 * <p><b>Replies.</b> Every request gets a fresh correlation id and an entry in a map of pending
 * replies. {@link #awaitReplies} returns when the map is empty, or throws a
 * {@link ShardTimeoutException} naming the shards that still owe a reply; replies that come after
 * that are counted as stale and dropped. All shards reply to this endpoint's one response channel
 * and stream, each on its own session.
 *
 * <p><b>No allocation on the hot path:</b> the query buffer, the prefix buffer for per-shard block
 * lists, the decoders and the fragment assembler are made once; the pending map reuses its arrays.
 */
public final class WorkerEndpoint implements AutoCloseable {
    private static final int FRAGMENT_LIMIT = 32;

    private final Aeron aeron;
    private final DataPlaneSettings settings;
    private final String name;
    private final String responseChannel;
    private final int responseStreamId;
    private final Subscription replies;
    private final FragmentAssembler assembler = new FragmentAssembler(this::onMessage);
    private final IdleStrategy idle;
    private final TransportCounters counters = new TransportCounters();

    private final Long2ObjectHashMap<ShardLink> pending = new Long2ObjectHashMap<>();
    private final Int2ObjectHashMap<ShardLink> shardsBySession = new Int2ObjectHashMap<>();
    private final ArrayList<ShardLink> shards = new ArrayList<>();
    private long nextCorrelationId = 1;

    private ReplyHandler activeHandler;
    private int delivered;
    private RuntimeException failure;
    private long awaitedHello = Long.MIN_VALUE;
    private String helloName;
    private int helloSession;

    private final ExpandableDirectByteBuffer queryBuffer = new ExpandableDirectByteBuffer(64 * 1024);
    private final ExpandableDirectByteBuffer prefixBuffer = new ExpandableDirectByteBuffer(4 * 1024);
    private final ExpandableDirectByteBuffer chunkHeaderBuffer = new ExpandableDirectByteBuffer(BlockChunk.HEADER_LENGTH);
    private final ExpandableDirectByteBuffer controlBuffer = new ExpandableDirectByteBuffer(4 * 1024);
    private final AttentionQuery.Encoder queryEncoder = new AttentionQuery.Encoder();
    private final BlockChunk.Encoder chunkEncoder = new BlockChunk.Encoder();
    private final BlockFree.Encoder freeEncoder = new BlockFree.Encoder();
    private final Hello.Encoder helloEncoder = new Hello.Encoder();
    private final PartialStates.Decoder statesDecoder = new PartialStates.Decoder();
    private final BlockAck.Decoder ackDecoder = new BlockAck.Decoder();
    private final ErrorMessage.Decoder errorDecoder = new ErrorMessage.Decoder();
    private final Hello.Decoder helloDecoder = new Hello.Decoder();
    private boolean closed;

    WorkerEndpoint(Aeron aeron, DataPlaneSettings settings, String name, String responseChannel, int responseStreamId) {
        this.aeron = aeron;
        this.settings = settings;
        this.name = name;
        this.responseChannel = responseChannel;
        this.responseStreamId = responseStreamId;
        this.idle = settings.workerIdle().newIdleStrategy();
        this.replies = aeron.addSubscription(responseChannel, responseStreamId);
    }

    public String name() {
        return name;
    }

    public String responseChannel() {
        return responseChannel;
    }

    public int responseStreamId() {
        return responseStreamId;
    }

    /** The directory of the media driver this endpoint's client uses: shards on the same driver are reachable over IPC. */
    public String aeronDirectoryName() {
        return aeron.context().aeronDirectoryName();
    }

    /** A snapshot of this endpoint's counters; safe from any thread. */
    public TransportStats stats() {
        return counters.snapshot();
    }

    /** Requests sent whose reply has not come yet. */
    public int pendingReplies() {
        return pending.size();
    }

    /** The shards connected so far, in connection order. */
    public List<ShardLink> shards() {
        return List.copyOf(shards);
    }

    /**
     * Connects to the shard that serves {@code channel} / {@code streamId}: waits for the publication
     * to connect, sends a Hello naming this endpoint's response channel, and waits for the shard's
     * Hello back, all within the connect timeout. Call between steps (no replies pending).
     *
     * @throws DataPlaneException naming the channel when no shard listens there or it does not answer
     */
    public ShardLink connect(String channel, int streamId) {
        if (!pending.isEmpty()) {
            throw new IllegalStateException("connect between steps: " + pending.size() + " replies are pending");
        }
        long timeoutNs = settings.connectTimeout().toNanos();
        long deadline = System.nanoTime() + timeoutNs;
        ExclusivePublication publication = aeron.addExclusivePublication(channel, streamId);
        try {
            while (!publication.isConnected()) {
                if (System.nanoTime() - deadline > 0) {
                    counters.increment(TransportCounters.TIMEOUTS);
                    throw new DataPlaneException("no shard is listening on " + channel + " stream " + streamId
                        + ": not connected after " + timeoutNs / 1_000_000 + " ms");
                }
                idle.idle();
            }
            idle.reset();
            long correlationId = nextCorrelationId++;
            var handshake = new PublicationSender(publication, ShardLink.describe("?", channel, streamId),
                settings.workerIdle().newIdleStrategy(), settings.offerTimeout().toNanos(), counters);
            helloEncoder.encode(controlBuffer, 0, correlationId, responseStreamId, name, responseChannel);
            handshake.send(controlBuffer, 0, helloEncoder.encodedLength());
            awaitedHello = correlationId;
            helloName = null;
            while (helloName == null) {
                int fragments = pollOnce(null);
                if (fragments == 0) {
                    if (System.nanoTime() - deadline > 0) {
                        counters.increment(TransportCounters.TIMEOUTS);
                        throw new DataPlaneException("the shard on " + channel + " stream " + streamId
                            + " accepted the connection but did not answer the handshake within "
                            + timeoutNs / 1_000_000 + " ms (can it reach " + responseChannel + " stream "
                            + responseStreamId + "?)");
                    }
                    idle.idle();
                }
            }
            idle.reset();
            var sender = new PublicationSender(publication, ShardLink.describe(helloName, channel, streamId),
                settings.workerIdle().newIdleStrategy(), settings.offerTimeout().toNanos(), counters);
            var link = new ShardLink(helloName, channel, streamId, publication, sender, helloSession);
            shards.add(link);
            shardsBySession.put(helloSession, link);
            return link;
        } catch (RuntimeException e) {
            CloseHelper.quietClose(publication);
            throw e;
        } finally {
            awaitedHello = Long.MIN_VALUE;
        }
    }

    /**
     * Wraps this endpoint's query buffer for a query of every block of the sequence
     * ({@link AttentionQuery#ALL_BLOCKS}); fill the heads, then {@link #send} it to one or more
     * shards. The encoder is valid until the next call.
     */
    public AttentionQuery.Encoder newQuery(long sequenceId, int layer, int step, int headCount, int headDim, int k,
                                           int l) {
        return queryEncoder.wrap(queryBuffer, 0, headCount, headDim, k, l, AttentionQuery.ALL_BLOCKS)
            .sequenceId(sequenceId).layer(layer).step(step);
    }

    /** Sends {@code query} as it is encoded (its own block list) under a fresh correlation id, which it returns. */
    public long send(ShardLink shard, AttentionQuery.Encoder query) {
        long correlationId = nextCorrelationId++;
        query.correlationId(correlationId);
        pending.put(correlationId, shard);
        try {
            shard.sender.send(query.buffer(), query.offset(), query.encodedLength());
        } catch (RuntimeException e) {
            pending.remove(correlationId);
            throw e;
        }
        return correlationId;
    }

    /**
     * Sends the heads of {@code query} with another block list ({@code count} ids from
     * {@code blockIds[offset]}) under a fresh correlation id: the fixed part and the list are
     * written to a small buffer and offered together with the query's head records, which are not
     * copied. So one encoded query serves every shard of a sequence.
     */
    public long send(ShardLink shard, AttentionQuery.Encoder query, int[] blockIds, int offset, int count) {
        long correlationId = nextCorrelationId++;
        int prefix = query.writePrefix(prefixBuffer, 0, correlationId, blockIds, offset, count);
        int heads = query.encodedLength() - query.headsOffset();
        pending.put(correlationId, shard);
        try {
            shard.sender.send(prefixBuffer, 0, prefix, query.buffer(), query.offset() + query.headsOffset(), heads);
        } catch (RuntimeException e) {
            pending.remove(correlationId);
            throw e;
        }
        return correlationId;
    }

    /**
     * Sends {@code length} bytes of one array of one block as a chunked transfer, and returns its
     * correlation id; the shard's {@link BlockAck} is awaited with the other replies. Each chunk
     * fills one frame (so it is encoded in place in the log buffer and the shard reads it without
     * reassembly), or carries {@link DataPlaneSettings#chunkPayloadBytes()} when that is set (then
     * the header is offered with the payload gathered from {@code payload}, not copied here).
     */
    public long sendBlock(ShardLink shard, long sequenceId, int blockId, int layer, int kvHead, PayloadKind kind,
                          int firstToken, int tokenCount, DirectBuffer payload, int offset, int length) {
        PublicationSender sender = shard.sender;
        int chunkBytes = chunkPayloadBytes(sender);
        int chunkCount = Math.max(1, (int) ((length + (long) chunkBytes - 1) / chunkBytes));
        long correlationId = nextCorrelationId++;
        pending.put(correlationId, shard);
        try {
            for (int index = 0, at = 0; index < chunkCount; index++) {
                int bytes = Math.min(chunkBytes, length - at);
                if (BlockChunk.HEADER_LENGTH + bytes <= sender.maxPayloadLength()) {
                    sender.claim(BlockChunk.HEADER_LENGTH + bytes);
                    chunkEncoder.wrap(sender.claimBuffer(), sender.claimOffset(), bytes);
                    fillChunk(correlationId, sequenceId, blockId, layer, kvHead, kind, firstToken, tokenCount,
                        index, chunkCount, length, at).payload(payload, offset + at);
                    sender.commit();
                } else {
                    chunkEncoder.wrapHeaderOnly(chunkHeaderBuffer, 0, bytes);
                    fillChunk(correlationId, sequenceId, blockId, layer, kvHead, kind, firstToken, tokenCount,
                        index, chunkCount, length, at);
                    sender.send(chunkHeaderBuffer, 0, BlockChunk.HEADER_LENGTH, payload, offset + at, bytes);
                }
                at += bytes;
            }
        } catch (RuntimeException e) {
            pending.remove(correlationId);
            throw e;
        }
        return correlationId;
    }

    /** Payload bytes per chunk on this link. */
    public int chunkPayloadBytes(ShardLink shard) {
        return chunkPayloadBytes(shard.sender);
    }

    private int chunkPayloadBytes(PublicationSender sender) {
        int configured = settings.chunkPayloadBytes();
        return configured == 0 ? sender.maxPayloadLength() - BlockChunk.HEADER_LENGTH
            : Math.min(configured, sender.maxMessageLength() - BlockChunk.HEADER_LENGTH);
    }

    private BlockChunk.Encoder fillChunk(long correlationId, long sequenceId, int blockId, int layer, int kvHead,
                                         PayloadKind kind, int firstToken, int tokenCount, int index, int count,
                                         int totalLength, int at) {
        return chunkEncoder.correlationId(correlationId).sequenceId(sequenceId).blockId(blockId).layer(layer)
            .kvHead(kvHead).payloadKind(kind).tokens(firstToken, tokenCount).chunk(index, count, totalLength, at);
    }

    /** Asks {@code shard} to release a block ({@link AttentionQuery#ALL_BLOCKS}: all of the sequence); returns the correlation id. */
    public long freeBlocks(ShardLink shard, long sequenceId, int blockId) {
        long correlationId = nextCorrelationId++;
        pending.put(correlationId, shard);
        try {
            shard.sender.claim(BlockFree.LENGTH);
            freeEncoder.wrap(shard.sender.claimBuffer(), shard.sender.claimOffset())
                .set(correlationId, sequenceId, blockId);
            shard.sender.commit();
        } catch (RuntimeException e) {
            pending.remove(correlationId);
            throw e;
        }
        return correlationId;
    }

    /**
     * Takes what has arrived, without waiting: replies go to {@code handler}. Returns the replies
     * delivered.
     *
     * @throws ShardErrorException if a shard answered a request with an error (that request is no
     *                             longer pending; the others are)
     */
    public int poll(ReplyHandler handler) {
        delivered = 0;
        pollOnce(handler);
        return delivered;
    }

    /** {@link #awaitReplies(ReplyHandler, long)} with the settings' reply timeout. */
    public int awaitReplies(ReplyHandler handler) {
        return awaitReplies(handler, settings.replyTimeout().toNanos());
    }

    /**
     * Polls until every pending request has its reply, handing each to {@code handler}; returns the
     * replies delivered. On any failure the remaining requests are abandoned (no longer pending),
     * so the caller can retry the step.
     *
     * @throws ShardTimeoutException naming the shards that did not answer within {@code timeoutNs}
     * @throws ShardErrorException   if a shard answered with an error
     */
    public int awaitReplies(ReplyHandler handler, long timeoutNs) {
        long deadline = System.nanoTime() + timeoutNs;
        int total = 0;
        try {
            while (!pending.isEmpty()) {
                delivered = 0;
                int fragments = pollOnce(handler);
                total += delivered;
                if (fragments > 0) {
                    idle.reset();
                } else if (System.nanoTime() - deadline > 0) {
                    counters.increment(TransportCounters.TIMEOUTS);
                    throw timeout(timeoutNs);
                } else {
                    idle.idle();
                }
            }
        } catch (RuntimeException e) {
            pending.clear();
            throw e;
        }
        return total;
    }

    private int pollOnce(ReplyHandler handler) {
        activeHandler = handler;
        int fragments;
        try {
            fragments = replies.poll(assembler, FRAGMENT_LIMIT);
        } finally {
            activeHandler = null;
        }
        if (failure != null) {
            RuntimeException e = failure;
            failure = null;
            throw e;
        }
        return fragments;
    }

    private ShardTimeoutException timeout(long timeoutNs) {
        Map<String, List<Long>> byShard = new TreeMap<>();
        var names = new LinkedHashSet<String>();
        pending.forEach((correlationId, shard) -> {
            byShard.computeIfAbsent(shard.description, k -> new ArrayList<>()).add(correlationId);
            names.add(shard.name());
        });
        var text = new StringBuilder("no reply within ").append(timeoutNs / 1_000_000).append(" ms from ");
        String separator = "";
        for (var entry : byShard.entrySet()) {
            text.append(separator).append(entry.getKey()).append(" for correlation ids ").append(entry.getValue());
            separator = "; ";
        }
        return new ShardTimeoutException(text.toString(), List.copyOf(names));
    }

    private void onMessage(DirectBuffer buffer, int offset, int length, Header header) {
        counters.received(length);
        try {
            switch (MessageHeader.type(buffer, offset, length)) {
                case MessageType.PARTIAL_STATES -> {
                    PartialStates.Decoder states = statesDecoder.wrap(buffer, offset, length);
                    ShardLink shard = pending.remove(states.correlationId());
                    if (shard == null) {
                        counters.increment(TransportCounters.STALE_REPLIES);
                    } else if (activeHandler != null) {
                        delivered++;
                        activeHandler.onPartialStates(shard, states);
                    }
                }
                case MessageType.BLOCK_ACK -> {
                    BlockAck.Decoder ack = ackDecoder.wrap(buffer, offset, length);
                    ShardLink shard = pending.remove(ack.correlationId());
                    if (shard == null) {
                        counters.increment(TransportCounters.STALE_REPLIES);
                    } else if (activeHandler != null) {
                        delivered++;
                        activeHandler.onBlockAck(shard, ack);
                    }
                }
                case MessageType.ERROR -> {
                    counters.increment(TransportCounters.ERROR_REPLIES);
                    ErrorMessage.Decoder error = errorDecoder.wrap(buffer, offset, length);
                    ShardLink shard = pending.remove(error.correlationId());
                    if (shard == null) {
                        counters.increment(TransportCounters.STALE_REPLIES);
                    } else {
                        fail(new ShardErrorException(shard.name(), error.correlationId(), error.code(), error.text()));
                    }
                }
                case MessageType.HELLO -> {
                    Hello.Decoder hello = helloDecoder.wrap(buffer, offset, length);
                    if (hello.correlationId() == awaitedHello) {
                        helloName = hello.name();
                        helloSession = header.sessionId();
                    } else {
                        counters.increment(TransportCounters.STALE_REPLIES);
                    }
                }
                default -> {
                    counters.increment(TransportCounters.MALFORMED);
                    fail(new DataPlaneException(from(header) + " sent a " + MessageType.name(
                        MessageHeader.type(buffer, offset, length)) + " message, which a worker does not serve"));
                }
            }
        } catch (WireFormatException e) {
            counters.increment(TransportCounters.MALFORMED);
            fail(new DataPlaneException("malformed reply from " + from(header) + ": " + e.getMessage(), e));
        } catch (RuntimeException e) {
            // The handler threw; Aeron would swallow it inside poll, so it is rethrown after the poll.
            fail(e);
        }
    }

    private String from(Header header) {
        ShardLink shard = shardsBySession.get(header.sessionId());
        return shard != null ? shard.description : "session " + header.sessionId();
    }

    private void fail(RuntimeException e) {
        if (failure == null) {
            failure = e;
        } else {
            failure.addSuppressed(e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (ShardLink shard : shards) {
            CloseHelper.quietClose(shard.publication);
        }
        shards.clear();
        pending.clear();
        CloseHelper.quietClose(replies);
    }
}
