package magicpig.worker.remote;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import magicpig.attention.AttentionSettings;
import magicpig.attention.HeadSlice;
import magicpig.attention.LogWeights;
import magicpig.attention.LshBlock;
import magicpig.attention.OffloadedHead;
import magicpig.attention.LshQueries;
import magicpig.attention.MergedState;
import magicpig.attention.PartialState;
import magicpig.attention.SparseAttention;
import magicpig.model.Attention;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;
import magicpig.tensor.Parallel;
import magicpig.transport.DataPlaneException;
import magicpig.transport.ReplyHandler;
import magicpig.transport.ShardAddress;
import magicpig.transport.ShardErrorException;
import magicpig.transport.ShardLink;
import magicpig.transport.ShardTimeoutException;
import magicpig.transport.WorkerEndpoint;
import magicpig.wire.AttentionQuery;
import magicpig.wire.BlockAck;
import magicpig.wire.BlockParams;
import magicpig.wire.PartialStates;
import magicpig.wire.PayloadKind;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * MagicPIG with the offloaded tokens on attention shards (issue 4, item 3): the exact static window
 * stays here, query codes go out.
 *
 * <p><b>Prefill.</b> As {@link magicpig.attention.MagicPigAttention}: per sparse (layer, kv head), c =
 * mean of the offloaded prompt keys ({@link LshQueries}, the code both share). Then every block of
 * the {@link Placement} is shipped to its shard: its {@link BlockParams} (model shape, K, L, T, master
 * seed), then per sparse (layer, kv head) its raw keys, its values and c, in chunks; the shard
 * centers, hashes (rebuilding the projection from the seed) and indexes them. Prefill waits for
 * every acknowledgement, and fails naming the shard that refused or did not answer.
 *
 * <p><b>Decode</b>, per sparse layer: codes, |q| and q·c of every query head (in parallel over kv
 * heads); ONE {@link AttentionQuery} with all heads, sent to each shard that holds blocks of this
 * sequence behind that shard's block list (the heads are encoded once); the exact static part
 * computed here while the replies are in flight, with logits shifted by q·c so that they share the
 * shards' origin {@code q·(k - c)}; the replies' (m, l, o, nnz) merged exactly. Nothing is
 * allocated per step.
 *
 * <p><b>Spilled tokens stay on the worker.</b> When the static window would exceed
 * {@code maxStatic}, its oldest generated tokens leave it by the in-process method's rule
 * ({@link SparseAttention#spillEnd}), hashed with the same projection and centered by the same c,
 * into LSH blocks held here and sampled here while the shards' replies travel. So the cluster
 * samples exactly the keys the in-process method samples, at any length; only the order in which
 * partial states are summed differs. (Shipping them to shards would cost a placement and a transfer
 * per spill; the worker's {@link KvCache} holds every position of the sequence anyway.)
 *
 * <p><b>Recovery.</b> The worker keeps the full KV of the sequence on its host, so a block whose
 * shard was lost is rebuilt by sending it again: {@link #replaceShard} re-ships one block from the
 * cache (and this sequence's c) to another shard. {@link #close} frees the sequence's blocks on
 * every shard still connected.
 *
 * <p>One instance is one sequence and is used by one thread, which also owns the
 * {@link WorkerEndpoint} while it calls in (a worker's sequences take turns on one endpoint).
 */
public final class RemoteMagicPigAttention extends SparseAttention<LshBlock.SampleScratch> {
    private static final ValueLayout.OfFloat WIRE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    /** How long close waits for the shards to confirm the frees. */
    private static final long FREE_TIMEOUT_NS = 1_000_000_000L;

    private final LshQueries queries;
    private final WorkerEndpoint endpoint;
    private final long sequenceId;
    private final BlockParams params;
    private final long ackTimeoutNs;
    private final int[] sparse;
    /** Generated tokens spilled from the static window, per (layer, kv head); null for dense layers. */
    private final OffloadedHead[][] spilled;
    private final LogWeights weights;
    private final int maxStatic;

    /** Blocks, in placement order. */
    private final int[] blockIds;
    private final int[] blockFrom;
    private final int[] blockTo;
    private final ShardLink[] blockLink;
    /** Distinct shards and their block ids (blockIdsByShard[shardOffset[s] .. + shardCount[s])). */
    private ShardLink[] shards;
    private int[] blockIdsByShard;
    private int[] shardOffset;
    private int[] shardCount;

    private final Arena arena = Arena.ofShared();
    private MemorySegment staging;
    private UnsafeBuffer stagingBuffer;
    private final UnsafeBuffer paramsBuffer = new UnsafeBuffer(new byte[BlockParams.LENGTH]);
    /** Blocks went out (all of them acknowledged: shipped). */
    private boolean sentBlocks;
    private boolean shipped;
    private boolean closed;

    private final Merger merger = new Merger();
    private final AckCounter acks = new AckCounter();
    private long sentAt;
    private long roundTrips;
    private long roundTripNanos;
    private long shardComputeNanos;
    private long waitNanos;
    private RoundTripListener listener;

    /** Told of every layer step that went to the shards (benchmarks); called on the decoding thread, must not block. */
    @FunctionalInterface
    public interface RoundTripListener {
        /**
         * @param roundTripNanos from the queries sent to the last reply merged (the static part overlaps it)
         * @param waitNanos      of that, the time the worker waited for replies with nothing left to do
         */
        void onRoundTrip(int layer, long roundTripNanos, long waitNanos);
    }

    /** Replies go to the endpoint's own response channel; the reply timeout is the endpoint's. */
    public RemoteMagicPigAttention(LlamaConfig config, AttentionSettings settings, Placement placement, WorkerEndpoint endpoint,
                                   Duration ackTimeout) {
        super(config, settings);
        this.queries = new LshQueries(config, settings);
        this.endpoint = endpoint;
        this.sequenceId = placement.sequenceId();
        this.params = new BlockParams(settings.seed(), settings.lshK(), settings.lshL(), settings.lshThreshold(), headDim, layers, kvHeads);
        this.ackTimeoutNs = ackTimeout.toNanos();
        this.sparse = sparseLayers();
        this.weights = LogWeights.of(settings.lshK(), settings.lshL(), settings.lshThreshold());
        this.maxStatic = settings.maxStatic();
        this.spilled = new OffloadedHead[layers][kvHeads];
        for (int l : sparse) for (int kv = 0; kv < kvHeads; kv++) spilled[l][kv] = new OffloadedHead(queries.hash(l, kv), headDim);
        int n = placement.blocks().size();
        this.blockIds = new int[n];
        this.blockFrom = new int[n];
        this.blockTo = new int[n];
        this.blockLink = new ShardLink[n];
        Map<ShardAddress, ShardLink> links = new LinkedHashMap<>();
        for (int b = 0; b < n; b++) {
            Placement.Block block = placement.blocks().get(b);
            blockIds[b] = block.blockId();
            blockFrom[b] = block.from();
            blockTo[b] = block.to();
            blockLink[b] = links.computeIfAbsent(block.shard(), a -> connect(endpoint, a));
        }
        groupByShard();
    }

    /** The per-sequence attention of a placed sequence, with a 30 s limit on the shards' acknowledgements of its blocks. */
    public static Attention.Factory factory(AttentionSettings settings, Placement placement, WorkerEndpoint endpoint) {
        return factory(settings, placement, endpoint, Duration.ofSeconds(30));
    }

    public static Attention.Factory factory(AttentionSettings settings, Placement placement, WorkerEndpoint endpoint, Duration ackTimeout) {
        return config -> new RemoteMagicPigAttention(config, settings.validate(config), placement, endpoint, ackTimeout);
    }

    /**
     * The link to a shard, reusing one the endpoint already has: over IPC when the shard runs on the
     * endpoint's media driver, over UDP otherwise ({@link ShardAddress#channelFor}). Replies come on
     * the endpoint's response channel, so an endpoint that answers on {@code aeron:ipc} reaches only
     * shards of its own driver.
     */
    public static ShardLink connect(WorkerEndpoint endpoint, ShardAddress address) {
        String channel = address.channelFor(endpoint.aeronDirectoryName());
        if (channel == null) throw new DataPlaneException(address + " has no channel this worker can reach");
        for (ShardLink link : endpoint.shards()) {
            if (link.channel().equals(channel) && link.streamId() == address.streamId() && link.isConnected()) return link;
        }
        return endpoint.connect(channel, address.streamId());
    }

    @Override
    protected LshBlock.SampleScratch newScratch() {
        return new LshBlock.SampleScratch(settings.blockTokens());
    }

    @Override
    protected boolean offloadedRemotely() {
        return true;
    }

    @Override
    protected void buildOffloaded(int layer, int kvHead, HeadSlice kv, int from, int to) {
        queries.centerOn(layer, kvHead, kv, from, to);
    }

    @Override
    protected int offloadedParts(int layer) {
        return shipped && blockIds.length > 0 && queries.hash(layer, 0) != null ? 1 : 0;
    }

    /** Spills as the in-process method does, into blocks held here (see the class comment). */
    @Override
    protected void beforeStep(int layer, int pos) {
        if (!shipped || spilled[layer][0] == null) return;
        int from = genStart[layer], to = spillEnd(layer, pos, maxStatic);
        if (to <= from) return;
        Parallel.forEach(kvHeads, kv -> spilled[layer][kv].add(slices[layer][kv], from, to, queries.center(layer, kv), arena, settings.blockTokens()));
        genStart[layer] = to;
    }

    @Override
    protected int localParts(int layer) {
        return spilled[layer][0] == null ? 0 : spilled[layer][0].blocks().length;
    }

    /** The spilled blocks; the prompt's are attended by the shards. */
    @Override
    protected void attendOffloaded(int layer, int head, int part, float[] q, int qOff, LshBlock.SampleScratch scratch, PartialState out) {
        spilled[layer][head / group].blocks()[part].attend(q, qOff, queries.qNorm(head), queries.codes(head), 0, weights,
            settings.lshThreshold(), scratch, out);
    }

    /** The prompt's offloaded tokens (on the shards) and the spilled ones (here). */
    @Override
    protected int offloadedKeys(int layer) {
        return offloadedTo() - offloadedFrom() + spilledTokens(layer);
    }

    /** Generated tokens of a layer spilled from the static window into blocks on this worker. */
    public int spilledTokens(int layer) {
        return spilled[layer][0] == null ? 0 : spilled[layer][0].tokens();
    }

    /** Sets (or with null, clears) the listener told of every round trip. */
    public void roundTripListener(RoundTripListener l) {
        this.listener = l;
    }

    @Override
    protected void prepareGroup(int layer, int kvHead, float[] q, int qOff) {
        queries.prepareGroup(layer, kvHead, q, qOff);
    }

    @Override
    protected float logitShift(int layer, int head) {
        return queries.qc(head);
    }

    @Override
    public void prefilled(KvCache cache, int promptLength) {
        super.prefilled(cache, promptLength);
        int offloaded = offloadedTo() - offloadedFrom();
        int covered = blockIds.length == 0 ? 0 : blockTo[blockTo.length - 1];
        if (covered != offloaded) {
            throw new IllegalStateException("sequence " + sequenceId + ": the placement covers " + covered + " offloaded tokens, the prompt of "
                + promptLength + " offloads " + offloaded + " (sink " + settings.sink() + ", local " + settings.local() + ")");
        }
        if (blockIds.length == 0 || sparse.length == 0) return;
        int most = 0;
        for (int b = 0; b < blockIds.length; b++) most = Math.max(most, blockTo[b] - blockFrom[b]);
        staging = arena.allocate((long) most * headDim * Float.BYTES, 64);
        stagingBuffer = new UnsafeBuffer(staging.address(), (int) staging.byteSize());
        sentBlocks = true;
        try {
            for (int b = 0; b < blockIds.length; b++) ship(b, blockLink[b]);
        } catch (DataPlaneException e) {
            throw failed("ship its KV blocks", e);
        }
        awaitAcks("ship its KV blocks");
        shipped = true;
    }

    /** Sends block b (params, then keys, values and c of every sparse (layer, kv head)) to a shard; acks are awaited by the caller. */
    private void ship(int b, ShardLink link) {
        int first = offloadedFrom() + blockFrom[b], n = blockTo[b] - blockFrom[b], id = blockIds[b];
        params.write(paramsBuffer, 0);
        endpoint.sendBlock(link, sequenceId, id, 0, 0, PayloadKind.BLOCK_PARAMS, first, n, paramsBuffer, 0, BlockParams.LENGTH);
        int bytes = n * headDim * Float.BYTES;
        for (int layer : sparse) {
            for (int kv = 0; kv < kvHeads; kv++) {
                HeadSlice s = slices[layer][kv];
                for (int i = 0; i < n; i++) MemorySegment.copy(s.keys(), FLOAT, s.keyOffset(first + i), staging, WIRE_FLOAT, (long) i * headDim * Float.BYTES, headDim);
                endpoint.sendBlock(link, sequenceId, id, layer, kv, PayloadKind.KEYS, first, n, stagingBuffer, 0, bytes);
                for (int i = 0; i < n; i++) MemorySegment.copy(s.values(), FLOAT, s.valueOffset(first + i), staging, WIRE_FLOAT, (long) i * headDim * Float.BYTES, headDim);
                endpoint.sendBlock(link, sequenceId, id, layer, kv, PayloadKind.VALUES, first, n, stagingBuffer, 0, bytes);
                MemorySegment.copy(queries.center(layer, kv), 0, staging, WIRE_FLOAT, 0, headDim);
                endpoint.sendBlock(link, sequenceId, id, layer, kv, PayloadKind.CENTERING_MEAN, first, n, stagingBuffer, 0, headDim * Float.BYTES);
                endpoint.poll(acks); // take acks as they come, so the shard's replies never back up
            }
        }
    }

    private void awaitAcks(String what) {
        try {
            endpoint.awaitReplies(acks, ackTimeoutNs);
        } catch (DataPlaneException e) {
            throw failed(what, e);
        }
    }

    /** A failed transfer: drops what is still pending (so later waits do not see it) and says what happened, naming the shard. */
    private DataPlaneException failed(String what, DataPlaneException e) {
        drain();
        if (e instanceof ShardTimeoutException t) {
            return new DataPlaneException("sequence " + sequenceId + " could not " + what + ": " + String.join(", ", t.shards())
                + " did not acknowledge within " + ackTimeoutNs / 1_000_000 + " ms (" + e.getMessage() + ")", e);
        }
        return new DataPlaneException("sequence " + sequenceId + " could not " + what + ": " + e.getMessage(), e);
    }

    @Override
    protected void sendOffloaded(int layer, int pos, float[] q, int qOff) {
        AttentionQuery.Encoder query = endpoint.newQuery(sequenceId, layer, pos, heads, headDim, params.k(), params.l());
        for (int h = 0; h < heads; h++) {
            query.kvHead(h, h / group).query(h, q, qOff + h * headDim).codes(h, queries.codes(h), 0);
        }
        sentAt = System.nanoTime();
        int s = 0;
        try {
            for (; s < shards.length; s++) endpoint.send(shards[s], query, blockIdsByShard, shardOffset[s], shardCount[s]);
        } catch (RuntimeException e) {
            drain(); // the shards already asked answer; take their replies, so that no later wait sees them
            throw new DataPlaneException("sequence " + sequenceId + ", layer " + layer + ": cannot query " + shards[s] + ": " + e.getMessage(), e);
        }
    }

    /** Waits for (and drops) every reply still pending, up to the reply timeout; never throws. */
    private void drain() {
        try {
            endpoint.awaitReplies(DISCARD);
        } catch (DataPlaneException e) {
            // what did not come is no longer pending
        }
    }

    @Override
    protected void receiveOffloaded(int layer, MergedState[] perHead) {
        merger.into(layer, perHead);
        long waitFrom = System.nanoTime();
        try {
            endpoint.awaitReplies(merger);
        } catch (ShardTimeoutException e) {
            throw new DataPlaneException("sequence " + sequenceId + ", layer " + layer + ": no partial states from "
                + String.join(", ", e.shards()) + " (" + e.getMessage() + ")", e);
        } finally {
            merger.into(-1, null);
        }
        long now = System.nanoTime(), rtt = now - sentAt, wait = now - waitFrom;
        roundTripNanos += rtt;
        waitNanos += wait;
        roundTrips++;
        if (listener != null) listener.onRoundTrip(layer, rtt, wait);
        StepObserver o = observer();
        if (o != null) o.remoteRoundTrip(layer, rtt);
    }

    /**
     * Moves block {@code blockId} to another shard after its shard was lost: sends it again from the
     * worker's KV cache (the same tokens, c and parameters) and waits for the acknowledgements; the
     * next steps query the new shard. The old shard, if it still answers, is asked to free the
     * block. Call between decode steps.
     */
    public void replaceShard(int blockId, ShardLink newLink) {
        int b = indexOf(blockId);
        ShardLink old = blockLink[b];
        if (shipped) {
            try {
                ship(b, newLink);
            } catch (DataPlaneException e) {
                throw failed("move block " + blockId + " to " + newLink, e);
            }
            awaitAcks("move block " + blockId + " to " + newLink);
        }
        blockLink[b] = newLink;
        groupByShard();
        if (old != newLink && old.isConnected() && !uses(old)) freeQuietly(old, AttentionQuery.ALL_BLOCKS);
        else if (old != newLink && old.isConnected()) freeQuietly(old, blockId);
    }

    /** {@link #replaceShard(int, ShardLink)} to a shard's address (connecting to it if needed). */
    public void replaceShard(int blockId, ShardAddress shard) {
        replaceShard(blockId, connect(endpoint, shard));
    }

    /** The shard a block is on now. */
    public ShardLink shardOf(int blockId) {
        return blockLink[indexOf(blockId)];
    }

    /** The shards this sequence's blocks are on. */
    public List<ShardLink> shards() {
        return List.of(shards);
    }

    /** Layer steps that went to the shards so far. */
    public long roundTrips() {
        return roundTrips;
    }

    /** Their total time, from sending the queries to the last reply merged (static part included, as it overlaps). */
    public long roundTripNanos() {
        return roundTripNanos;
    }

    /** Of {@link #roundTripNanos()}, the time spent waiting for replies after the local part was done. */
    public long waitNanos() {
        return waitNanos;
    }

    /** The shards' compute time over all replies, as they report it. */
    public long shardComputeNanos() {
        return shardComputeNanos;
    }

    /** The data plane's id of this sequence. */
    public long sequenceId() {
        return sequenceId;
    }

    /**
     * Frees this sequence's blocks on every shard still connected (also after a prefill whose
     * transfers failed half way), waiting up to a second for them; never throws.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (sentBlocks) {
                for (ShardLink s : shards) {
                    if (s.isConnected()) endpoint.freeBlocks(s, sequenceId, AttentionQuery.ALL_BLOCKS);
                }
                endpoint.awaitReplies(acks, FREE_TIMEOUT_NS);
            }
        } catch (DataPlaneException e) {
            // a shard that does not answer has lost the blocks anyway; the timeout cleared the pending replies
        } finally {
            arena.close();
        }
    }

    private void freeQuietly(ShardLink link, int blockId) {
        try {
            endpoint.freeBlocks(link, sequenceId, blockId);
            endpoint.awaitReplies(acks, FREE_TIMEOUT_NS);
        } catch (DataPlaneException e) {
            // the old shard is gone or stuck: nothing to free there
        }
    }

    private boolean uses(ShardLink link) {
        for (ShardLink l : blockLink) if (l == link) return true;
        return false;
    }

    private int indexOf(int blockId) {
        for (int b = 0; b < blockIds.length; b++) if (blockIds[b] == blockId) return b;
        throw new IllegalArgumentException("sequence " + sequenceId + " has no block " + blockId);
    }

    /** Groups the block ids by shard, for one query per shard per step. */
    private void groupByShard() {
        List<ShardLink> distinct = new ArrayList<>();
        for (ShardLink l : blockLink) if (!distinct.contains(l)) distinct.add(l);
        shards = distinct.toArray(ShardLink[]::new);
        shardOffset = new int[shards.length];
        shardCount = new int[shards.length];
        blockIdsByShard = new int[blockIds.length];
        int at = 0;
        for (int s = 0; s < shards.length; s++) {
            shardOffset[s] = at;
            for (int b = 0; b < blockIds.length; b++) if (blockLink[b] == shards[s]) blockIdsByShard[at++] = blockIds[b];
            shardCount[s] = at - shardOffset[s];
        }
    }

    /** Merges each shard's partial states into the step's per-head states. */
    private final class Merger implements ReplyHandler {
        private final double[] o = new double[headDim];
        private int layer;
        private MergedState[] perHead;

        void into(int layer, MergedState[] perHead) {
            this.layer = layer;
            this.perHead = perHead;
        }

        @Override
        public void onPartialStates(ShardLink shard, PartialStates.Decoder reply) {
            if (perHead == null || reply.layer() != layer || reply.headCount() != heads || reply.headDim() != headDim) {
                throw new DataPlaneException(shard + " answered layer " + reply.layer() + " with " + reply.headCount() + " heads x "
                    + reply.headDim() + "; expected layer " + layer + ", " + heads + " x " + headDim);
            }
            for (int h = 0; h < heads; h++) {
                double l = reply.l(h);
                if (l != 0) reply.getO(h, o, 0);
                perHead[h].mergeNormalised(reply.m(h), l, o, 0, reply.nnz(h));
            }
            shardComputeNanos += reply.computeNanos();
        }

        @Override
        public void onBlockAck(ShardLink shard, BlockAck.Decoder ack) {
            throw new DataPlaneException(shard + " acknowledged a transfer in the middle of a decode step");
        }
    }

    private static final ReplyHandler DISCARD = (shard, reply) -> {};

    /** Takes acknowledgements of transfers and frees. */
    private static final class AckCounter implements ReplyHandler {
        @Override
        public void onPartialStates(ShardLink shard, PartialStates.Decoder reply) {
            throw new DataPlaneException(shard + " sent partial states while blocks were being shipped");
        }
    }
}
