package magicpig.model;

import java.util.function.IntConsumer;
import magicpig.attention.DenseAttention;
import magicpig.tensor.FloatKernels;
import magicpig.tensor.Parallel;

/**
 * The Llama-family forward pass: RMSNorm, RoPE, grouped-query attention, SwiGLU, classifier.
 * Stateless apart from the weights; each sequence decodes through its own {@link Session}, which
 * owns the KV cache, the attention step and every activation buffer (nothing is allocated per
 * token).
 */
public final class Llama implements ComputeBackend {
    /** Prompt tokens processed together by one batched (matrix-matrix) prefill pass. */
    public static final int PREFILL_CHUNK = 32;

    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final RotaryEmbedding rope;

    public Llama(LlamaConfig config, LlamaWeights weights) {
        weights.validate(config);
        this.config = config;
        this.weights = weights;
        this.rope = new RotaryEmbedding(config.rope(), config.headDim());
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    @Override
    public String description() {
        return "cpu (" + magicpig.tensor.Parallel.threads() + " threads, Vector API " + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize()
                + "-bit, native decode kernels " + (magicpig.tensor.NativeKernels.available() ? "on" : "off") + ")";
    }

    public LlamaWeights weights() {
        return weights;
    }

    /** A new sequence holding up to {@code capacity} tokens, decoding with the given attention (null: dense). */
    @Override
    public Session newSession(int capacity, Attention attention) {
        return new Session(capacity, attention);
    }

    /** One sequence's decoding state. Used by one thread at a time. */
    public final class Session implements InferenceSession {
        private final KvCache cache;
        private final Attention attention;
        private final float[] x, xb, q, k, v, att, hb, hb2, logits;
        private final float[] cos, sin;
        // Prefill chunk buffers: PREFILL_CHUNK rows each.
        private final float[] px, pxb, pq, pk, pv, patt, phb, phb2;
        private final float[] pcos, psin;
        private final PrefillAttention prefillAttention = new PrefillAttention();
        private int position;
        private int promptLength = -1;
        private int lastChunk;

        private Session(int capacity, Attention attention) {
            LlamaConfig c = config;
            this.cache = new KvCache(c, capacity);
            this.attention = attention != null ? attention : new DenseAttention(c);
            x = new float[c.dim()];
            xb = new float[c.dim()];
            q = new float[c.qDim()];
            k = new float[c.kvDim()];
            v = new float[c.kvDim()];
            att = new float[c.qDim()];
            hb = new float[c.hiddenDim()];
            hb2 = new float[c.hiddenDim()];
            logits = new float[c.vocabSize()];
            cos = new float[c.headDim() / 2];
            sin = new float[c.headDim() / 2];
            int b = PREFILL_CHUNK;
            px = new float[b * c.dim()];
            pxb = new float[b * c.dim()];
            pq = new float[b * c.qDim()];
            pk = new float[b * c.kvDim()];
            pv = new float[b * c.kvDim()];
            patt = new float[b * c.qDim()];
            phb = new float[b * c.hiddenDim()];
            phb2 = new float[b * c.hiddenDim()];
            pcos = new float[b * c.headDim() / 2];
            psin = new float[b * c.headDim() / 2];
        }

        public KvCache cache() {
            return cache;
        }

        /** Tokens processed so far (the position of the next token). */
        @Override
        public int position() {
            return position;
        }

        @Override
        public int capacity() {
            return cache.capacity();
        }

        /**
         * Exact, batched prefill of the prompt. Returns the logits after its last token (a view into
         * the session's buffer, valid until the next call).
         */
        @Override
        public float[] prefill(int[] tokens) {
            if (tokens.length == 0) throw new IllegalArgumentException("prefill needs at least one token");
            int done = 0;
            while (done < tokens.length) done = prefillPart(tokens, done, PREFILL_CHUNK);
            return finishPrefill();
        }

        /**
         * Prefills tokens[from, from + at most maxTokens) (continuous batching interleaves such parts
         * with decode steps of other sequences). Returns the index of the next token to prefill.
         */
        @Override
        public int prefillPart(int[] tokens, int from, int maxTokens) {
            if (promptLength >= 0) throw new IllegalStateException("the prompt is already prefilled");
            if (from != position) throw new IllegalStateException("prefill must continue at position " + position + ", not " + from);
            int end = Math.min(tokens.length, from + Math.max(1, maxTokens));
            checkRoom(end - from);
            for (int start = from; start < end; start += PREFILL_CHUNK) {
                lastChunk = Math.min(PREFILL_CHUNK, end - start);
                prefillChunk(tokens, start, lastChunk);
            }
            return end;
        }

        /** Ends prefill: hands the prompt to the attention step and returns the logits after its last token. */
        @Override
        public float[] finishPrefill() {
            if (promptLength >= 0) throw new IllegalStateException("the prompt is already prefilled");
            if (position == 0) throw new IllegalStateException("nothing was prefilled");
            classify(px, (lastChunk - 1) * config.dim()); // the last token of the last chunk
            promptLength = position;
            attention.prefilled(cache, promptLength);
            return logits;
        }

        /** One decode step: feeds token at the next position, returns the logits that follow it. */
        @Override
        public float[] decode(int token) {
            beginDecodeStep();
            LlamaConfig c = config;
            LlamaWeights w = weights;
            int pos = position;
            checkToken(token);
            w.tokenEmbedding().dequantizeRow(token, x, 0);
            rope.angles(pos, cos, sin);
            for (int l = 0; l < c.layers(); l++) {
                FloatKernels.rmsNorm(xb, 0, x, 0, w.attnNorm()[l], c.dim(), c.rmsEps());
                w.wq()[l].matvec(xb, 0, q, 0);
                w.wk()[l].matvec(xb, 0, k, 0);
                w.wv()[l].matvec(xb, 0, v, 0);
                rope.rotate(q, 0, c.heads(), cos, sin);
                rope.rotate(k, 0, c.kvHeads(), cos, sin);
                cache.writeKey(l, pos, k, 0);
                cache.writeValue(l, pos, v, 0);
                attend(l, pos);
                w.wo()[l].matvec(att, 0, xb, 0);
                FloatKernels.add(x, 0, xb, 0, c.dim());
                FloatKernels.rmsNorm(xb, 0, x, 0, w.ffnNorm()[l], c.dim(), c.rmsEps());
                w.gate()[l].matvec(xb, 0, hb, 0);
                w.up()[l].matvec(xb, 0, hb2, 0);
                FloatKernels.siluGate(hb, 0, hb2, 0, c.hiddenDim());
                w.down()[l].matvec(hb, 0, xb, 0);
                FloatKernels.add(x, 0, xb, 0, c.dim());
            }
            endDecodeStep();
            classify(x, 0);
            return logits;
        }

        /** Decode attention of the query in {@code q} at pos, into {@code att}. */
        private void attend(int layer, int pos) {
            attention.decode(layer, q, 0, cache, pos, att, 0);
        }

        private void beginDecodeStep() {
            if (promptLength < 0) throw new IllegalStateException("prefill the prompt before decoding");
            checkRoom(1);
        }

        private void endDecodeStep() {
            position++;
            cache.setLength(position);
        }

        private void prefillChunk(int[] tokens, int start, int n) {
            LlamaConfig c = config;
            LlamaWeights w = weights;
            int dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), hidden = c.hiddenDim(), half = c.headDim() / 2;
            int pos0 = position;
            for (int b = 0; b < n; b++) {
                int token = tokens[start + b];
                checkToken(token);
                w.tokenEmbedding().dequantizeRow(token, px, b * dim);
                rope.angles(pos0 + b, cos, sin);
                System.arraycopy(cos, 0, pcos, b * half, half);
                System.arraycopy(sin, 0, psin, b * half, half);
            }
            for (int l = 0; l < c.layers(); l++) {
                for (int b = 0; b < n; b++) FloatKernels.rmsNorm(pxb, b * dim, px, b * dim, w.attnNorm()[l], dim, c.rmsEps());
                w.wq()[l].matmul(pxb, dim, n, pq, qDim);
                w.wk()[l].matmul(pxb, dim, n, pk, kvDim);
                w.wv()[l].matmul(pxb, dim, n, pv, kvDim);
                for (int b = 0; b < n; b++) {
                    System.arraycopy(pcos, b * half, cos, 0, half);
                    System.arraycopy(psin, b * half, sin, 0, half);
                    rope.rotate(pq, b * qDim, c.heads(), cos, sin);
                    rope.rotate(pk, b * kvDim, c.kvHeads(), cos, sin);
                    cache.writeKey(l, pos0 + b, pk, b * kvDim);
                    cache.writeValue(l, pos0 + b, pv, b * kvDim);
                }
                prefillAttention.run(l, pos0, n);
                w.wo()[l].matmul(patt, qDim, n, pxb, dim);
                FloatKernels.add(px, 0, pxb, 0, n * dim);
                for (int b = 0; b < n; b++) FloatKernels.rmsNorm(pxb, b * dim, px, b * dim, w.ffnNorm()[l], dim, c.rmsEps());
                w.gate()[l].matmul(pxb, dim, n, phb, hidden);
                w.up()[l].matmul(pxb, dim, n, phb2, hidden);
                FloatKernels.siluGate(phb, 0, phb2, 0, n * hidden);
                w.down()[l].matmul(phb, hidden, n, pxb, dim);
                FloatKernels.add(px, 0, pxb, 0, n * dim);
            }
            position = pos0 + n;
            cache.setLength(position);
        }

        /** Final norm and classifier of the residual row at off. */
        private void classify(float[] residual, int off) {
            FloatKernels.rmsNorm(xb, 0, residual, off, weights.outputNorm(), config.dim(), config.rmsEps());
            weights.output().matvec(xb, 0, logits, 0);
        }

        private void checkRoom(int n) {
            if (position + n > cache.capacity()) {
                throw new IllegalStateException("sequence full: " + position + " + " + n + " tokens exceed its capacity of " + cache.capacity());
            }
        }

        private void checkToken(int token) {
            if (token < 0 || token >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }

        @Override
        public void close() {
            attention.close();
            cache.close();
        }

        /** Causal exact attention of every (token, head) of a prefill chunk, in parallel. */
        private final class PrefillAttention implements IntConsumer {
            private int layer, pos0;

            void run(int layer, int pos0, int n) {
                this.layer = layer;
                this.pos0 = pos0;
                if ((long) n * config.heads() * (pos0 + n) * config.headDim() < 1 << 15) {
                    for (int i = 0; i < n * config.heads(); i++) accept(i); // too little work to split
                } else {
                    Parallel.forEach(n * config.heads(), this);
                }
            }

            @Override
            public void accept(int item) {
                int heads = config.heads();
                int b = item / heads, h = item % heads;
                int off = b * config.qDim() + h * config.headDim();
                ExactAttention.attendHead(pq, off, cache, layer, h / config.groupSize(), pos0 + b + 1, patt, off, Scratch.scores(cache.capacity()));
            }
        }
    }

    /** A reusable batch for stepping up to {@code maxBatch} sessions at once. */
    @Override
    public DecodeBatch newDecodeBatch(int maxBatch) {
        return new DecodeBatch(maxBatch);
    }

    /**
     * Continuous-batching decode: one step for many sequences in one pass, so every weight matrix is
     * read once per step for the whole batch (matrix-matrix), not once per sequence. Attention stays
     * per sequence (each has its own cache and attention step).
     */
    public final class DecodeBatch implements BatchDecoder {
        private final int maxBatch;
        private final float[] x, xb, q, k, v, att, hb, hb2, logits;

        private DecodeBatch(int maxBatch) {
            if (maxBatch < 1) throw new IllegalArgumentException("batch size must be >= 1");
            LlamaConfig c = config;
            this.maxBatch = maxBatch;
            x = new float[maxBatch * c.dim()];
            xb = new float[maxBatch * c.dim()];
            q = new float[maxBatch * c.qDim()];
            k = new float[maxBatch * c.kvDim()];
            v = new float[maxBatch * c.kvDim()];
            att = new float[maxBatch * c.qDim()];
            hb = new float[maxBatch * c.hiddenDim()];
            hb2 = new float[maxBatch * c.hiddenDim()];
            logits = new float[maxBatch * c.vocabSize()];
        }

        @Override
        public int maxBatch() {
            return maxBatch;
        }

        /**
         * Feeds tokens[i] to sessions[i] for i in [0, n). Returns the logits, row i at
         * {@code i * vocabSize} (a view into this batch's buffer, valid until the next step).
         */
        @Override
        public float[] step(InferenceSession[] sessions, int[] tokens, int n) {
            if (n < 1 || n > maxBatch) throw new IllegalArgumentException("batch of " + n + " sessions, expected 1.." + maxBatch);
            LlamaConfig c = config;
            LlamaWeights w = weights;
            int dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), hidden = c.hiddenDim();
            for (int b = 0; b < n; b++) {
                Session s = (Session) sessions[b]; // a batch only holds this backend's sessions
                s.beginDecodeStep();
                s.checkToken(tokens[b]);
                w.tokenEmbedding().dequantizeRow(tokens[b], x, b * dim);
                rope.angles(s.position, s.cos, s.sin);
            }
            for (int l = 0; l < c.layers(); l++) {
                for (int b = 0; b < n; b++) FloatKernels.rmsNorm(xb, b * dim, x, b * dim, w.attnNorm()[l], dim, c.rmsEps());
                w.wq()[l].matmul(xb, dim, n, q, qDim);
                w.wk()[l].matmul(xb, dim, n, k, kvDim);
                w.wv()[l].matmul(xb, dim, n, v, kvDim);
                for (int b = 0; b < n; b++) {
                    Session s = (Session) sessions[b];
                    rope.rotate(q, b * qDim, c.heads(), s.cos, s.sin);
                    rope.rotate(k, b * kvDim, c.kvHeads(), s.cos, s.sin);
                    s.cache.writeKey(l, s.position, k, b * kvDim);
                    s.cache.writeValue(l, s.position, v, b * kvDim);
                    System.arraycopy(q, b * qDim, s.q, 0, qDim);
                    s.attend(l, s.position);
                    System.arraycopy(s.att, 0, att, b * qDim, qDim);
                }
                w.wo()[l].matmul(att, qDim, n, xb, dim);
                FloatKernels.add(x, 0, xb, 0, n * dim);
                for (int b = 0; b < n; b++) FloatKernels.rmsNorm(xb, b * dim, x, b * dim, w.ffnNorm()[l], dim, c.rmsEps());
                w.gate()[l].matmul(xb, dim, n, hb, hidden);
                w.up()[l].matmul(xb, dim, n, hb2, hidden);
                FloatKernels.siluGate(hb, 0, hb2, 0, n * hidden);
                w.down()[l].matmul(hb, hidden, n, xb, dim);
                FloatKernels.add(x, 0, xb, 0, n * dim);
            }
            for (int b = 0; b < n; b++) {
                ((Session) sessions[b]).endDecodeStep();
                FloatKernels.rmsNorm(xb, b * dim, x, b * dim, w.outputNorm(), dim, c.rmsEps());
            }
            w.output().matmul(xb, dim, n, logits, c.vocabSize());
            return logits;
        }
    }

    /** Per-thread score buffers, grown to the longest sequence seen. */
    static final class Scratch {
        private static final ThreadLocal<float[][]> SCORES = ThreadLocal.withInitial(() -> new float[1][0]);

        static float[] scores(int n) {
            float[][] holder = SCORES.get();
            if (holder[0].length < n) holder[0] = new float[n];
            return holder[0];
        }
    }
}
