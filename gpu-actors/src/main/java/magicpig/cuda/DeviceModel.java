package magicpig.cuda;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;
import magicpig.model.RotaryEmbedding;
import magicpig.tensor.GgmlType;
import magicpig.tensor.WeightMatrix;

/**
 * A model's weights uploaded once and kept on the device, byte for byte as the host holds them.
 * Matrices that read the same input are laid back to back in one allocation when their types
 * agree, so one launch computes them all: q, k and v (output row [q | k | v]) and gate and up
 * ([gate | up]). The norm weights and the RoPE frequencies go up as f32 / f64 vectors.
 */
final class DeviceModel implements AutoCloseable {
    final LlamaConfig config;
    final DeviceMatrix embedding, output;
    /** Per layer, the parts of each projection (one part when the types agree). */
    final DeviceMatrix[][] qkv, wo, gateUp, down;
    private final DeviceBuffer vectors;
    private final long attnNorm0, ffnNorm0, outputNorm;
    final long freqs;
    private final List<DeviceBuffer> buffers = new ArrayList<>();
    /** Device bytes the weights take. */
    final long bytes;

    /** Where the matrices come from: uploaded host weights, or synthetic weights made on the device. */
    private interface Source {
        /** The matrices of one projection: parts by name (see {@link #upload}), each [rows x cols]. */
        DeviceMatrix[] make(String what, WeightMatrix[] host, int[] rows, int cols);
    }

    /** Uploads a model's weights (every matrix checked first, so nothing is allocated for a model the kernels cannot take). */
    static DeviceModel upload(Device device, LlamaConfig c, LlamaWeights w) {
        check("token embedding", w.tokenEmbedding());
        check("output", w.output());
        for (int l = 0; l < c.layers(); l++) {
            for (WeightMatrix m : new WeightMatrix[] {w.wq()[l], w.wk()[l], w.wv()[l], w.wo()[l], w.gate()[l], w.up()[l], w.down()[l]}) {
                check("layer " + l + " " + m, m);
            }
        }
        return new DeviceModel(device, c, w, null);
    }

    /**
     * Random weights of type {@code type} made on the device (uniform in +-sqrt(3 / cols), norms
     * of ones, as {@code SyntheticModels} makes them, from another random stream): for timing
     * shapes whose host generation and upload would take minutes.
     */
    static DeviceModel synthetic(Device device, CudaKernels kernels, LlamaConfig c, GgmlType type, long seed, boolean tied) {
        String why = CudaKernels.unsupported(type, c.dim());
        if (why == null && c.hiddenDim() % 32 != 0) why = "widths must be multiples of 32";
        if (why != null) throw new UnsupportedOperationException("synthetic " + type + " weights: " + why);
        return new DeviceModel(device, c, null, new SyntheticSpec(kernels, type, seed, tied));
    }

    private record SyntheticSpec(CudaKernels kernels, GgmlType type, long seed, boolean tied) {}

    private DeviceModel(Device device, LlamaConfig c, LlamaWeights w, SyntheticSpec synth) {
        this.config = c;
        try {
            Map<WeightMatrix, DeviceMatrix> uploaded = new IdentityHashMap<>();
            int[] counter = {0};
            Source src = synth == null
                    ? (what, host, rows, cols) -> upload(device, uploaded, host)
                    : (what, host, rows, cols) -> generate(device, synth, ++counter[0], rows, cols);
            int L = c.layers();
            this.embedding = src.make("embedding", w == null ? null : new WeightMatrix[] {w.tokenEmbedding()}, new int[] {c.vocabSize()}, c.dim())[0];
            this.output = synth != null && synth.tied() ? embedding
                    : src.make("output", w == null ? null : new WeightMatrix[] {w.output()}, new int[] {c.vocabSize()}, c.dim())[0];
            qkv = new DeviceMatrix[L][];
            wo = new DeviceMatrix[L][];
            gateUp = new DeviceMatrix[L][];
            down = new DeviceMatrix[L][];
            for (int l = 0; l < L; l++) {
                qkv[l] = src.make("qkv", w == null ? null : new WeightMatrix[] {w.wq()[l], w.wk()[l], w.wv()[l]},
                        new int[] {c.qDim(), c.kvDim(), c.kvDim()}, c.dim());
                wo[l] = src.make("wo", w == null ? null : new WeightMatrix[] {w.wo()[l]}, new int[] {c.dim()}, c.qDim());
                gateUp[l] = src.make("gate|up", w == null ? null : new WeightMatrix[] {w.gate()[l], w.up()[l]},
                        new int[] {c.hiddenDim(), c.hiddenDim()}, c.dim());
                down[l] = src.make("down", w == null ? null : new WeightMatrix[] {w.down()[l]}, new int[] {c.dim()}, c.hiddenDim());
            }
            // Norm weights: [attn 0..L) [ffn 0..L) [output], each dim floats; then the frequencies.
            int dim = c.dim();
            long normBytes = 4L * dim * (2L * L + 1);
            double[] f = new RotaryEmbedding(c.rope(), c.headDim()).frequencies();
            vectors = device.allocate(normBytes + 8L * f.length);
            buffers.add(vectors);
            float[] ones = new float[dim];
            java.util.Arrays.fill(ones, 1f);
            for (int l = 0; l < L; l++) {
                device.upload(vectors, 4L * dim * l, w == null ? ones : w.attnNorm()[l], 0, dim);
                device.upload(vectors, 4L * dim * (L + l), w == null ? ones : w.ffnNorm()[l], 0, dim);
            }
            device.upload(vectors, 4L * dim * 2L * L, w == null ? ones : w.outputNorm(), 0, dim);
            device.upload(vectors, normBytes, f);
            attnNorm0 = vectors.address;
            ffnNorm0 = vectors.address + 4L * dim * L;
            outputNorm = vectors.address + 4L * dim * 2L * L;
            freqs = vectors.address + normBytes;
            long sum = 0;
            for (DeviceBuffer b : buffers) sum += b.bytes;
            this.bytes = sum;
            if (synth != null) device.synchronize();
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** One allocation of [sum(rows) x cols] synthetic weights: parts of one projection share a type. */
    private DeviceMatrix[] generate(Device device, SyntheticSpec s, int tensor, int[] rows, int cols) {
        int total = 0;
        for (int r : rows) total += r;
        long rowBytes = s.type().rowBytes(cols);
        DeviceBuffer buf = device.allocate(rowBytes * total);
        buffers.add(buf);
        s.kernels().fillWeights(CudaKernels.typeCode(s.type()), buf.address, total, cols, s.seed() * 0x9E3779B97F4A7C15L + tensor,
                (float) Math.sqrt(3.0 / cols), device.multiprocessors * 16);
        return new DeviceMatrix[] {new DeviceMatrix(s.type(), buf.address, total, cols, rowBytes, 0)};
    }

    private static void check(String what, WeightMatrix m) {
        String why = CudaKernels.unsupported(m.type(), m.cols());
        if (why != null) throw new UnsupportedOperationException("the CUDA backend cannot run " + what + ": " + why);
    }

    /**
     * Uploads matrices that share an input; runs of equal type go into one allocation, rows back
     * to back, so that one launch covers them. Returns the parts with their output offsets.
     */
    private DeviceMatrix[] upload(Device device, Map<WeightMatrix, DeviceMatrix> uploaded, WeightMatrix... ms) {
        if (ms.length == 1 && uploaded.containsKey(ms[0])) return new DeviceMatrix[] {uploaded.get(ms[0])};
        List<DeviceMatrix> parts = new ArrayList<>();
        int out = 0;
        for (int i = 0; i < ms.length; ) {
            int j = i;
            long bytes = 0;
            int rows = 0;
            while (j < ms.length && ms[j].type() == ms[i].type() && ms[j].cols() == ms[i].cols()) {
                bytes += ms[j].byteSize();
                rows += ms[j].rows();
                j++;
            }
            DeviceBuffer buf = device.allocate(bytes);
            buffers.add(buf);
            long at = 0;
            for (int k = i; k < j; k++) {
                // a matrix kept only in a CPU layout rebuilds its GGUF bytes for the upload, freed right after
                try (java.lang.foreign.Arena scratch = java.lang.foreign.Arena.ofConfined()) {
                    device.upload(buf, at, ms[k].ggufBytes(scratch), ms[k].byteSize());
                }
                at += ms[k].byteSize();
            }
            long rowBytes = ms[i].type().rowBytes(ms[i].cols());
            parts.add(new DeviceMatrix(ms[i].type(), buf.address, rows, ms[i].cols(), rowBytes, out));
            out += rows;
            i = j;
        }
        DeviceMatrix[] result = parts.toArray(DeviceMatrix[]::new);
        if (ms.length == 1) uploaded.put(ms[0], result[0]);
        return result;
    }

    /** Bytes one decode step reads from the weights: every matrix once, the embedding row aside. */
    long decodeBytes() {
        long sum = output.byteSize();
        for (int l = 0; l < config.layers(); l++) {
            for (DeviceMatrix[] ps : new DeviceMatrix[][] {qkv[l], wo[l], gateUp[l], down[l]}) for (DeviceMatrix p : ps) sum += p.byteSize();
        }
        return sum;
    }

    long attnNorm(int layer) {
        return attnNorm0 + 4L * config.dim() * layer;
    }

    long ffnNorm(int layer) {
        return ffnNorm0 + 4L * config.dim() * layer;
    }

    long outputNorm() {
        return outputNorm;
    }

    @Override
    public void close() {
        for (DeviceBuffer b : buffers) b.close();
        buffers.clear();
    }
}
