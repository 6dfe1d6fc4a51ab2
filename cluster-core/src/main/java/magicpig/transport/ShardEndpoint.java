package magicpig.transport;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import java.util.ArrayDeque;
import java.util.ArrayList;
import magicpig.wire.AttentionQuery;
import magicpig.wire.BlockAck;
import magicpig.wire.BlockChunk;
import magicpig.wire.BlockFree;
import magicpig.wire.ErrorMessage;
import magicpig.wire.Hello;
import magicpig.wire.MessageHeader;
import magicpig.wire.MessageType;
import magicpig.wire.PartialStates;
import magicpig.wire.WireFormatException;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.ErrorHandler;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.Agent;

/**
 * The server side of the data plane for one attention shard: subscribes on a channel and stream,
 * decodes what workers send, hands it to a {@link ShardHandler} and replies on each worker's own
 * response channel.
 *
 * <p>It is an Agrona {@link Agent}: {@link AeronDataPlane#start} runs its duty cycle on a thread of
 * its own with the settings' idle strategy, or a caller drives {@link #doWork()} from its own loop.
 * The handler runs on that thread, so one shard computes one query at a time; a host serves more
 * in parallel with more shards. Each worker introduces itself with a {@link Hello} naming its
 * response channel; the endpoint opens an exclusive publication there (one session per shard, so
 * replies of different shards never share a log) and answers the Hello once it is connected.
 * Peers whose image goes away are dropped, with their transfers in progress.
 *
 * <p>Hot path (query in, reply out): no allocation. The fragment assembler, decoders, the reply
 * buffer and the reassembly buffers are made once and reused.
 */
public final class ShardEndpoint implements Agent, AutoCloseable {
    private static final int FRAGMENT_LIMIT = 16;
    private static final long PEER_CHECK_INTERVAL_NS = 100_000_000L;

    /** One worker that said Hello, keyed by the session id of its image. */
    private static final class Peer {
        final int sessionId;
        final String workerName;
        final ExclusivePublication publication;
        final PublicationSender sender;
        final ChunkReassembler chunks;
        final long helloCorrelationId;
        final long helloDeadlineNs;
        boolean helloAnswered;

        Peer(int sessionId, String workerName, ExclusivePublication publication, PublicationSender sender,
             ChunkReassembler chunks, long helloCorrelationId, long helloDeadlineNs) {
            this.sessionId = sessionId;
            this.workerName = workerName;
            this.publication = publication;
            this.sender = sender;
            this.chunks = chunks;
            this.helloCorrelationId = helloCorrelationId;
            this.helloDeadlineNs = helloDeadlineNs;
        }
    }

    private final Aeron aeron;
    private final DataPlaneSettings settings;
    private final String name;
    private final String channel;
    private final int streamId;
    private final ShardHandler handler;
    private final ErrorHandler errorHandler;
    private final Subscription subscription;
    private final FragmentAssembler assembler = new FragmentAssembler(this::onMessage);
    private final TransportCounters counters = new TransportCounters();

    private final Int2ObjectHashMap<Peer> peersBySession = new Int2ObjectHashMap<>();
    private final ArrayList<Peer> peers = new ArrayList<>();
    private final ArrayDeque<ChunkReassembler.Transfer> transferPool = new ArrayDeque<>();
    private Peer lastPeer;

    private final AttentionQuery.Decoder queryDecoder = new AttentionQuery.Decoder();
    private final PartialStates.Encoder replyEncoder = new PartialStates.Encoder();
    private final BlockChunk.Decoder chunkDecoder = new BlockChunk.Decoder();
    private final BlockFree.Decoder freeDecoder = new BlockFree.Decoder();
    private final BlockAck.Encoder ackEncoder = new BlockAck.Encoder();
    private final Hello.Decoder helloDecoder = new Hello.Decoder();
    private final Hello.Encoder helloEncoder = new Hello.Encoder();
    private final ErrorMessage.Encoder errorEncoder = new ErrorMessage.Encoder();
    private final ExpandableDirectByteBuffer replyBuffer = new ExpandableDirectByteBuffer(64 * 1024);
    private final ExpandableDirectByteBuffer controlBuffer = new ExpandableDirectByteBuffer(4 * 1024);

    private long nextPeerCheckNs;
    private boolean closed;

    ShardEndpoint(Aeron aeron, DataPlaneSettings settings, String name, String channel, int streamId,
                  ShardHandler handler, ErrorHandler errorHandler) {
        this.aeron = aeron;
        this.settings = settings;
        this.name = name;
        this.channel = channel;
        this.streamId = streamId;
        this.handler = handler;
        this.errorHandler = errorHandler;
        this.subscription = aeron.addSubscription(channel, streamId);
    }

    public String name() {
        return name;
    }

    public String channel() {
        return channel;
    }

    public int streamId() {
        return streamId;
    }

    /** Workers that completed the handshake and are still connected. */
    public int connectedWorkers() {
        int count = 0;
        for (int i = 0; i < peers.size(); i++) {
            count += peers.get(i).helloAnswered ? 1 : 0;
        }
        return count;
    }

    /** A snapshot of this endpoint's counters; safe from any thread. */
    public TransportStats stats() {
        return counters.snapshot();
    }

    @Override
    public String roleName() {
        return "shard-" + name;
    }

    @Override
    public int doWork() {
        int work = subscription.poll(assembler, FRAGMENT_LIMIT);
        if (!peers.isEmpty()) {
            work += answerHellos();
            long now = System.nanoTime();
            if (now - nextPeerCheckNs > 0) {
                nextPeerCheckNs = now + PEER_CHECK_INTERVAL_NS;
                work += dropDepartedPeers();
            }
        }
        return work;
    }

    @Override
    public void onClose() {
        close();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Peer peer : peers) {
            CloseHelper.quietClose(peer.publication);
        }
        peers.clear();
        peersBySession.clear();
        CloseHelper.quietClose(subscription);
    }

    private void onMessage(DirectBuffer buffer, int offset, int length, Header header) {
        counters.received(length);
        // Every message has its correlation id at offset 8; read it before validation to quote it in an error.
        long correlationId = length >= 16 ? buffer.getLong(offset + 8, MessageHeader.BYTE_ORDER) : 0;
        Peer peer = peer(header.sessionId());
        if (peer != null && !peer.helloAnswered) {
            peer = null;
        }
        try {
            int type = MessageHeader.type(buffer, offset, length);
            if (type == MessageType.HELLO) {
                onHello(buffer, offset, length, header.sessionId());
                return;
            }
            if (peer == null) {
                // Nobody to answer: a sender must say Hello first, and Aeron keeps a session in order.
                counters.increment(TransportCounters.MALFORMED);
                return;
            }
            switch (type) {
                case MessageType.ATTENTION_QUERY -> onQuery(peer, buffer, offset, length);
                case MessageType.BLOCK_CHUNK -> onChunk(peer, buffer, offset, length);
                case MessageType.BLOCK_FREE -> onFree(peer, buffer, offset, length);
                default -> replyError(peer, correlationId, ErrorMessage.UNSUPPORTED,
                    "shard '" + name + "' does not serve " + MessageType.name(type) + " messages");
            }
        } catch (WireFormatException e) {
            counters.increment(TransportCounters.MALFORMED);
            if (peer != null) {
                replyError(peer, correlationId, ErrorMessage.MALFORMED, e.getMessage());
            }
        } catch (DataPlaneException e) {
            // A reply could not be sent (the worker is gone or stuck); the worker's own timeout reports it.
            errorHandler.onError(e);
        }
    }

    private void onQuery(Peer peer, DirectBuffer buffer, int offset, int length) {
        AttentionQuery.Decoder query = queryDecoder.wrap(buffer, offset, length);
        PartialStates.Encoder reply = replyEncoder.wrap(replyBuffer, 0, query.headCount(), query.headDim())
            .correlationId(query.correlationId())
            .sequenceId(query.sequenceId())
            .layer(query.layer());
        long start = System.nanoTime();
        try {
            handler.onQuery(query, reply);
        } catch (UnknownSequenceException e) {
            replyError(peer, query.correlationId(), ErrorMessage.UNKNOWN_SEQUENCE, e.getMessage());
            return;
        } catch (RuntimeException e) {
            replyError(peer, query.correlationId(), ErrorMessage.HANDLER_FAILED, String.valueOf(e));
            return;
        }
        reply.computeNanos(System.nanoTime() - start);
        peer.sender.send(replyBuffer, 0, reply.encodedLength());
    }

    private void onChunk(Peer peer, DirectBuffer buffer, int offset, int length) {
        BlockChunk.Decoder chunk = chunkDecoder.wrap(buffer, offset, length);
        ChunkReassembler chunks = peer.chunks;
        switch (chunks.onChunk(chunk)) {
            case ChunkReassembler.ACCEPTED -> { }
            case ChunkReassembler.DUPLICATE -> counters.increment(TransportCounters.DUPLICATE_CHUNKS);
            case ChunkReassembler.GAP -> {
                counters.increment(TransportCounters.CHUNK_GAPS);
                replyError(peer, chunk.correlationId(), ErrorMessage.TRANSFER_GAP, chunks.problem());
            }
            case ChunkReassembler.REJECTED ->
                replyError(peer, chunk.correlationId(), ErrorMessage.TRANSFER_REJECTED, chunks.problem());
            case ChunkReassembler.COMPLETE -> {
                ChunkReassembler.Transfer transfer = chunks.completed();
                ReceivedBlock block = transfer.block;
                try {
                    handler.onBlock(block, transfer.buffer, 0, transfer.totalLength);
                } catch (RuntimeException e) {
                    chunks.release(transfer);
                    replyError(peer, block.correlationId, ErrorMessage.HANDLER_FAILED, String.valueOf(e));
                    return;
                }
                long correlationId = block.correlationId;
                long sequenceId = block.sequenceId;
                int blockId = block.blockId;
                int layer = block.layer;
                int kvHead = block.kvHead;
                var kind = block.kind;
                int chunkCount = block.chunkCount;
                int bytes = transfer.totalLength;
                chunks.release(transfer);
                sendAck(peer).ackTransfer(correlationId, sequenceId, blockId, layer, kvHead, kind, chunkCount, bytes);
                peer.sender.commit();
            }
            default -> throw new IllegalStateException();
        }
    }

    private void onFree(Peer peer, DirectBuffer buffer, int offset, int length) {
        BlockFree.Decoder free = freeDecoder.wrap(buffer, offset, length);
        long released;
        try {
            released = handler.onBlockFree(free.sequenceId(), free.blockId());
        } catch (RuntimeException e) {
            replyError(peer, free.correlationId(), ErrorMessage.HANDLER_FAILED, String.valueOf(e));
            return;
        }
        long correlationId = free.correlationId();
        long sequenceId = free.sequenceId();
        int blockId = free.blockId();
        sendAck(peer).ackFree(correlationId, sequenceId, blockId, released);
        peer.sender.commit();
    }

    /** Claims an ack in the peer's log buffer (it always fits one frame) and wraps the encoder on it. */
    private BlockAck.Encoder sendAck(Peer peer) {
        peer.sender.claim(BlockAck.LENGTH);
        return ackEncoder.wrap(peer.sender.claimBuffer(), peer.sender.claimOffset());
    }

    private void replyError(Peer peer, long correlationId, int code, String text) {
        counters.increment(TransportCounters.ERROR_REPLIES);
        errorEncoder.encode(controlBuffer, 0, correlationId, code, text);
        try {
            peer.sender.send(controlBuffer, 0, errorEncoder.encodedLength());
        } catch (DataPlaneException e) {
            errorHandler.onError(e);
        }
    }

    private void onHello(DirectBuffer buffer, int offset, int length, int sessionId) {
        Hello.Decoder hello = helloDecoder.wrap(buffer, offset, length);
        String worker = hello.name();
        String responseChannel = hello.channel();
        int responseStream = hello.streamId();
        Peer old = peersBySession.remove(sessionId);
        if (old != null) {
            removePeer(old);
        }
        ExclusivePublication publication;
        try {
            publication = aeron.addExclusivePublication(responseChannel, responseStream);
        } catch (RuntimeException e) {
            errorHandler.onError(new DataPlaneException("shard '" + name + "' cannot open a reply publication to worker '"
                + worker + "' on " + responseChannel + " stream " + responseStream, e));
            return;
        }
        String description = "worker '" + worker + "' (" + responseChannel + " stream " + responseStream + ")";
        var sender = new PublicationSender(publication, description, settings.shardIdle().newIdleStrategy(),
            settings.offerTimeout().toNanos(), counters);
        var peer = new Peer(sessionId, worker, publication, sender,
            new ChunkReassembler(transferPool, settings.maxTransferBytes()), hello.correlationId(),
            System.nanoTime() + settings.connectTimeout().toNanos());
        peersBySession.put(sessionId, peer);
        peers.add(peer);
        lastPeer = peer;
        answerHellos();
    }

    /** Answers the Hello of each new peer whose reply publication has connected. */
    private int answerHellos() {
        int work = 0;
        for (int i = peers.size() - 1; i >= 0; i--) {
            Peer peer = peers.get(i);
            if (peer.helloAnswered) {
                continue;
            }
            if (peer.publication.isConnected()) {
                helloEncoder.encode(controlBuffer, 0, peer.helloCorrelationId, streamId, name, "");
                try {
                    peer.sender.send(controlBuffer, 0, helloEncoder.encodedLength());
                    peer.helloAnswered = true;
                } catch (DataPlaneException e) {
                    errorHandler.onError(e);
                    dropPeer(peer);
                }
                work++;
            } else if (System.nanoTime() - peer.helloDeadlineNs > 0) {
                errorHandler.onError(new DataPlaneException("shard '" + name + "' could not connect back to "
                    + peer.sender.publication().channel() + " stream " + peer.sender.publication().streamId()
                    + " of worker '" + peer.workerName + "' within " + settings.connectTimeout().toMillis() + " ms"));
                dropPeer(peer);
                work++;
            }
        }
        return work;
    }

    private int dropDepartedPeers() {
        int work = 0;
        for (int i = peers.size() - 1; i >= 0; i--) {
            Peer peer = peers.get(i);
            if (subscription.imageBySessionId(peer.sessionId) == null) {
                dropPeer(peer);
                work++;
            }
        }
        return work;
    }

    private void dropPeer(Peer peer) {
        peersBySession.remove(peer.sessionId);
        removePeer(peer);
    }

    private void removePeer(Peer peer) {
        peers.remove(peer);
        if (lastPeer == peer) {
            lastPeer = null;
        }
        peer.chunks.clear();
        CloseHelper.quietClose(peer.publication);
    }

    private Peer peer(int sessionId) {
        Peer peer = lastPeer;
        if (peer != null && peer.sessionId == sessionId) {
            return peer;
        }
        peer = peersBySession.get(sessionId);
        if (peer != null) {
            lastPeer = peer;
        }
        return peer;
    }
}
