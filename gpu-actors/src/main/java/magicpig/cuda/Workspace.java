package magicpig.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import magicpig.model.LlamaConfig;

/**
 * Device activations for up to {@code rows} rows (tokens) of one forward pass, and the small
 * per-step upload (the rows' SeqInfo and tokens, one copy).
 */
final class Workspace implements AutoCloseable {
    /** Bytes of one SeqInfo (common.cuh). */
    static final int SEQ_INFO = 32;

    final int rows;
    final int logitRows;
    private final Device device;
    final DeviceBuffer x, qkv, att, gu, logits, meta, argmax;
    private DeviceBuffer partial;
    /** Recorded decode steps by (rows, splits, argmax); they hold this workspace's addresses. */
    private final java.util.Map<Long, Object> graphs = new java.util.HashMap<>();
    private final ByteBuffer hostMeta;
    final int qkvDim;

    Workspace(Device device, LlamaConfig c, int rows, int logitRows) {
        this.device = device;
        this.rows = rows;
        this.logitRows = logitRows;
        this.qkvDim = c.qDim() + 2 * c.kvDim();
        DeviceBuffer[] made = new DeviceBuffer[7];
        try {
            made[0] = device.allocate(4L * rows * c.dim());
            made[1] = device.allocate(4L * rows * qkvDim);
            made[2] = device.allocate(4L * rows * c.qDim());
            made[3] = device.allocate(8L * rows * c.hiddenDim());
            made[4] = device.allocate(4L * logitRows * c.vocabSize());
            made[5] = device.allocate((long) rows * (SEQ_INFO + 4));
            made[6] = device.allocate(4L * rows);
        } catch (RuntimeException e) {
            for (DeviceBuffer b : made) if (b != null) b.close();
            throw e;
        }
        x = made[0];
        qkv = made[1];
        att = made[2];
        gu = made[3];
        logits = made[4];
        meta = made[5];
        argmax = made[6];
        hostMeta = ByteBuffer.allocateDirect(rows * (SEQ_INFO + 4)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Address of the rows' SeqInfo array on the device. */
    long seqs() {
        return meta.address;
    }

    /** Address of the rows' tokens on the device. */
    long tokens() {
        return meta.address + (long) rows * SEQ_INFO;
    }

    /** Sets row b's SeqInfo (uploaded by {@link #uploadMeta}). */
    void seq(int b, long k, long v, int pos, int cap, int r0len, int r1start) {
        int at = b * SEQ_INFO;
        hostMeta.putLong(at, k).putLong(at + 8, v).putInt(at + 16, pos).putInt(at + 20, cap).putInt(at + 24, r0len).putInt(at + 28, r1start);
    }

    void token(int b, int token) {
        hostMeta.putInt(rows * SEQ_INFO + 4 * b, token);
    }

    void uploadMeta() {
        device.upload(meta, 0, hostMeta, meta.bytes);
    }

    /** Partial-state scratch for attention split in {@code splits} parts. */
    long partial(LlamaConfig c, int splits) {
        long need = 4L * rows * c.heads() * splits * (c.headDim() + 2);
        if (partial == null || partial.bytes < need) {
            if (partial != null) partial.close();
            partial = null;
            dropGraphs(); // they read the old partial buffer
            partial = device.allocate(need);
        }
        return partial.address;
    }

    Object graph(long key) {
        return graphs.get(key);
    }

    void putGraph(long key, Object graph) {
        graphs.put(key, graph);
    }

    private void dropGraphs() {
        for (Object g : graphs.values()) device.destroyGraph(g);
        graphs.clear();
    }

    @Override
    public void close() {
        dropGraphs();
        for (DeviceBuffer b : new DeviceBuffer[] {x, qkv, att, gu, logits, meta, argmax, partial}) if (b != null) b.close();
    }
}
