package magicpig.shard;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import magicpig.attention.LogWeights;
import magicpig.attention.LshBlock;
import magicpig.attention.MergedState;
import magicpig.attention.PartialState;
import magicpig.attention.VectorMath;
import magicpig.metrics.ShardMetrics;
import magicpig.tensor.Parallel;
import magicpig.transport.ReceivedBlock;
import magicpig.transport.ShardHandler;
import magicpig.transport.UnknownSequenceException;
import magicpig.wire.AttentionQuery;
import magicpig.wire.PartialStates;
import org.agrona.DirectBuffer;

/**
 * What an attention shard does with the data plane's requests: stores the blocks workers ship
 * ({@link ShardStore}), answers sampled-attention queries over them, and frees them.
 *
 * <p><b>A query</b> holds every query head of one sequence and layer (query, L codes, its kv head)
 * and the ids of the blocks of that sequence here to attend over. For each (head, block), in
 * parallel on every core ({@link Parallel}, one reused body): {@link LshBlock#attend} with the sent
 * query, its norm (recomputed here) and codes, and the sequence's K, L and T; the states of a head
 * merge exactly, and the reply carries (m, l, o, nnz) per head. Logits are those of centered keys,
 * {@code q·(k - c)}, because the blocks hold centered keys: the worker's static part uses the same
 * origin (it subtracts q·c), so no q·c needs to travel. Scratch grows to the largest query seen
 * and is reused: a query allocates nothing.
 *
 * <p><b>Threads.</b> Every handler call runs on the shard's duty-cycle thread ({@link ShardAgent}),
 * which also runs the commands other threads {@link #submit}, so the store has one owner. Counters
 * are readable from any thread.
 */
public final class ShardService implements ShardHandler {
    private static final ThreadLocal<LshBlock.SampleScratch> SCRATCH = ThreadLocal.withInitial(LshBlock.SampleScratch::new);

    private final ShardStore store;
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final QueryBody body = new QueryBody();

    // query scratch, grown on demand
    private int headDim = -1;
    private float[] q = new float[0];
    private float[] qNorm = new float[0];
    private char[][] codes = new char[0][];
    private StoredBlock[] blocks = new StoredBlock[0];
    private LshBlock[] items = new LshBlock[0];
    private PartialState[] states = new PartialState[0];
    private double[] o = new double[0];
    private MergedState merged = new MergedState(0);

    private volatile long queries;
    private volatile long queryNanos;
    private volatile long sampledKeys;
    private volatile long transfers;
    private volatile long failures;
    private ShardMetrics metrics = ShardMetrics.NONE;

    public ShardService(ShardStore store) {
        this.store = store;
    }

    /** Where to record each query's time; set before the shard runs. */
    void metrics(ShardMetrics m) {
        this.metrics = m;
    }

    public ShardStore store() {
        return store;
    }

    public String name() {
        return store.name();
    }

    /** Queries answered. */
    public long queries() {
        return queries;
    }

    /** Time spent computing them, in total. */
    public long queryNanos() {
        return queryNanos;
    }

    /** Keys sampled over all queries and heads. */
    public long sampledKeys() {
        return sampledKeys;
    }

    /** Block parts received and stored. */
    public long transfers() {
        return transfers;
    }

    /** Requests answered with an error. */
    public long failures() {
        return failures;
    }

    /** Runs {@code command} on the duty-cycle thread; the future completes with its result. */
    public <T> CompletableFuture<T> submit(Supplier<T> command) {
        var done = new CompletableFuture<T>();
        commands.add(() -> {
            try {
                done.complete(command.get());
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    /** Frees every block of a sequence and its reservations, on the duty-cycle thread; completes with the bytes freed. */
    public CompletableFuture<Long> release(long sequenceId) {
        return submit(() -> store.free(sequenceId, AttentionQuery.ALL_BLOCKS));
    }

    /** Runs the submitted commands; called by the duty cycle. Returns how many ran. */
    int runCommands() {
        int n = 0;
        for (Runnable r; (r = commands.poll()) != null; n++) r.run();
        return n;
    }

    @Override
    public void onBlock(ReceivedBlock block, DirectBuffer payload, int offset, int length) {
        try {
            store.receive(block, payload, offset, length);
            transfers++;
        } catch (RuntimeException e) {
            failures++;
            throw e;
        }
    }

    @Override
    public long onBlockFree(long sequenceId, int blockId) {
        return store.free(sequenceId, blockId);
    }

    @Override
    public void onQuery(AttentionQuery.Decoder query, PartialStates.Encoder reply) {
        long t0 = System.nanoTime();
        try {
            answer(query, reply);
        } catch (RuntimeException e) {
            failures++;
            throw e;
        }
        long nanos = System.nanoTime() - t0;
        queryNanos += nanos;
        queries++;
        metrics.query(nanos);
    }

    private void answer(AttentionQuery.Decoder query, PartialStates.Encoder reply) {
        long seq = query.sequenceId();
        int layer = query.layer();
        int heads = query.headCount(), d = query.headDim(), l = query.l();
        ShardStore.Sequence s = store.sequence(seq);
        if (s == null) throw new UnknownSequenceException("shard " + store.name() + " holds no blocks of sequence " + seq);
        int nb = query.allBlocks() ? s.ids.size() : query.blockCount();
        grow(heads, d, l, nb);
        for (int i = 0; i < nb; i++) {
            int id = query.allBlocks() ? s.ids.getInt(i) : query.blockId(i);
            StoredBlock b = s.blocks.get(id);
            if (b == null) throw new UnknownSequenceException("shard " + store.name() + " holds no block " + id + " of sequence " + seq);
            if (i > 0 && !b.params.equals(blocks[0].params)) {
                throw new IllegalStateException("shard " + store.name() + ": blocks of sequence " + seq + " were sent with different parameters ("
                    + blocks[0].params + " and " + b.params + ")");
            }
            if (b.params.headDim() != d || b.params.l() != l || b.params.k() != query.k()) {
                throw new IllegalStateException("shard " + store.name() + ": sequence " + seq + " block " + id + " was indexed with headDim "
                    + b.params.headDim() + ", K=" + b.params.k() + ", L=" + b.params.l() + "; the query has headDim " + d + ", K="
                    + query.k() + ", L=" + l);
            }
            blocks[i] = b;
        }
        for (int h = 0; h < heads; h++) {
            int kv = query.kvHead(h);
            query.getQuery(h, q, h * d);
            query.getCodes(h, codes[h], 0);
            qNorm[h] = VectorMath.norm(q, h * d, d);
            for (int i = 0; i < nb; i++) {
                LshBlock index = blocks[i].index(layer, kv);
                if (index == null) {
                    throw new IllegalStateException("shard " + store.name() + ": sequence " + seq + " block " + blocks[i].blockId
                        + " has no complete keys, values and c for layer " + layer + " kv head " + kv);
                }
                items[h * nb + i] = index;
            }
        }
        if (nb > 0) {
            StoredBlock first = blocks[0];
            body.set(d, nb, first.weights, first.params.threshold());
            try {
                Parallel.forEach(heads * nb, body);
            } finally {
                body.weights = null;
            }
        }
        long sampled = 0;
        for (int h = 0; h < heads; h++) {
            if (nb == 0) {
                reply.empty(h);
                continue;
            }
            MergedState st = merged.reset();
            for (int i = 0; i < nb; i++) st.merge(states[h * nb + i]);
            sampled += st.nnz();
            if (st.isEmpty()) {
                reply.empty(h);
            } else {
                st.writeNormalised(o, 0);
                reply.state(h, st.m(), st.l(), st.nnz()).o(h, o, 0);
            }
        }
        for (int i = 0; i < nb; i++) blocks[i] = null;
        for (int i = 0; i < heads * nb; i++) items[i] = null;
        sampledKeys += sampled;
    }

    /** Makes the scratch fit a query of this shape (allocates only when it grows). */
    private void grow(int heads, int d, int l, int nb) {
        if (q.length < heads * d) q = new float[heads * d];
        if (qNorm.length < heads) qNorm = new float[heads];
        int tables = codes.length == 0 ? 0 : codes[0].length;
        if (codes.length < heads || tables < l) codes = new char[Math.max(heads, codes.length)][Math.max(l, tables)];
        if (blocks.length < nb) blocks = new StoredBlock[nb];
        int n = heads * nb;
        if (items.length < n) items = new LshBlock[n];
        if (headDim != d || states.length < n) {
            PartialState[] grown = new PartialState[Math.max(n, headDim == d ? states.length : 0)];
            for (int i = 0; i < grown.length; i++) grown[i] = headDim == d && i < states.length ? states[i] : new PartialState(d);
            states = grown;
            o = new double[d];
            merged = new MergedState(d);
            headDim = d;
        }
    }

    /** One (head, block) of a query: its sampled part. */
    private final class QueryBody implements IntConsumer {
        int d, nb, threshold;
        LogWeights weights;

        void set(int d, int nb, LogWeights weights, int threshold) {
            this.d = d;
            this.nb = nb;
            this.weights = weights;
            this.threshold = threshold;
        }

        @Override
        public void accept(int item) {
            int h = item / nb;
            PartialState out = states[item].reset();
            items[item].attend(q, h * d, qNorm[h], codes[h], 0, weights, threshold, SCRATCH.get(), out);
        }
    }
}
