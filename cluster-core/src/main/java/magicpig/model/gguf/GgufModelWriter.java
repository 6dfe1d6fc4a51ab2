package magicpig.model.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import magicpig.gguf.GgufArray;
import magicpig.gguf.GgufWriter;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;
import magicpig.model.Model;
import magicpig.tensor.GgmlType;
import magicpig.tensor.Quantizer;
import magicpig.tensor.WeightMatrix;
import magicpig.tokenizer.Tokenizer;

/**
 * Writes a model as a llama-architecture GGUF file with every matrix stored in one type (norms stay
 * f32), as llama.cpp's converter lays it out. The vocabulary is written as a SentencePiece
 * ("llama") vocabulary of the model's pieces. Used by tests and to hand models to other tools.
 */
public final class GgufModelWriter {
    private GgufModelWriter() {}

    public static void write(Model model, GgmlType type, Path path) throws IOException {
        LlamaConfig c = model.config();
        if (c.rope().halfSplit()) {
            throw new IllegalArgumentException("GGUF's llama architecture rotates adjacent pairs; this model uses the half-split layout");
        }
        LlamaWeights w = model.llama().weights();
        Tokenizer tok = model.tokenizer();
        GgufWriter g = new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.name", model.name())
                .putUInt32("llama.context_length", c.contextLength())
                .putUInt32("llama.embedding_length", c.dim())
                .putUInt32("llama.feed_forward_length", c.hiddenDim())
                .putUInt32("llama.block_count", c.layers())
                .putUInt32("llama.attention.head_count", c.heads())
                .putUInt32("llama.attention.head_count_kv", c.kvHeads())
                .putUInt32("llama.rope.dimension_count", c.headDim())
                .putFloat32("llama.rope.freq_base", c.rope().theta())
                .putFloat32("llama.attention.layer_norm_rms_epsilon", c.rmsEps())
                .putString("tokenizer.ggml.model", "llama")
                .putUInt32("tokenizer.ggml.bos_token_id", Math.max(0, tok.bosId()))
                .putUInt32("tokenizer.ggml.eos_token_id", model.stopIds().length > 0 ? model.stopIds()[0] : 2);
        String[] pieces = new String[c.vocabSize()];
        float[] scores = new float[c.vocabSize()];
        for (int i = 0; i < pieces.length; i++) pieces[i] = i < tok.vocabSize() ? tok.piece(i) : "<unused" + i + ">";
        g.putArray("tokenizer.ggml.tokens", GgufArray.ofStrings(pieces)).putArray("tokenizer.ggml.scores", GgufArray.ofFloat32(scores));
        try (Arena arena = Arena.ofShared()) {
            g.addTensor("token_embd.weight", convert(w.tokenEmbedding(), type, arena));
            for (int l = 0; l < c.layers(); l++) {
                String b = "blk." + l + ".";
                g.addTensor(b + "attn_norm.weight", GgmlType.F32, w.attnNorm()[l], c.dim());
                g.addTensor(b + "attn_q.weight", convert(w.wq()[l], type, arena));
                g.addTensor(b + "attn_k.weight", convert(w.wk()[l], type, arena));
                g.addTensor(b + "attn_v.weight", convert(w.wv()[l], type, arena));
                g.addTensor(b + "attn_output.weight", convert(w.wo()[l], type, arena));
                g.addTensor(b + "ffn_norm.weight", GgmlType.F32, w.ffnNorm()[l], c.dim());
                g.addTensor(b + "ffn_gate.weight", convert(w.gate()[l], type, arena));
                g.addTensor(b + "ffn_down.weight", convert(w.down()[l], type, arena));
                g.addTensor(b + "ffn_up.weight", convert(w.up()[l], type, arena));
            }
            g.addTensor("output_norm.weight", GgmlType.F32, w.outputNorm(), c.dim());
            if (w.output() != w.tokenEmbedding()) g.addTensor("output.weight", convert(w.output(), type, arena));
            g.write(path);
        }
    }

    private static WeightMatrix convert(WeightMatrix m, GgmlType type, Arena arena) {
        if (m.type() == type) return m;
        MemorySegment dst = arena.allocate(type.bytes(m.rows(), m.cols()), 64);
        Quantizer.quantize(type, m.rows(), m.cols(), (row, out) -> m.dequantizeRow(row, out, 0), dst);
        return WeightMatrix.of(type, dst, m.rows(), m.cols());
    }
}
