/**
 * Text to token ids and back, as each model family's own tooling does it.
 *
 * <ul>
 * <li>{@link magicpig.tokenizer.SentencePieceTokenizer}: Llama 1/2 SentencePiece BPE with byte
 * fallback, from a llama2.c {@code tokenizer.bin} ({@code fromLlama2cFile}), from GGUF metadata
 * ({@code fromVocabulary}) or from a ranked merges list ({@code fromMerges}, used for tokenizer.json).</li>
 * <li>{@link magicpig.tokenizer.ByteLevelBpeTokenizer}: Llama 3 (and GPT-2) byte-level BPE, from
 * GGUF metadata or tokenizer.json ({@code fromVocabulary}).</li>
 * <li>{@link magicpig.tokenizer.HfTokenizerJson}: loads a Hugging Face tokenizer.json (plus
 * tokenizer_config.json) as one of the two.</li>
 * </ul>
 *
 * <p>From GGUF metadata, by {@code tokenizer.ggml.model}:
 * <pre>{@code
 * "llama": SentencePieceTokenizer.fromVocabulary(tokens, scores, token_type, bos_token_id, eos_token_id,
 *                                                add_space_prefix (default true))
 * "gpt2":  ByteLevelBpeTokenizer.fromVocabulary(tokens, merges, token_type, bos_token_id, eos_token_id,
 *                                               pre (null when absent))
 * }</pre>
 * A missing bos/eos id is -1. Whether to put BOS in front of a prompt ({@code tokenizer.ggml.add_bos_token},
 * or {@link magicpig.tokenizer.HfTokenizerJson#addBos()}) is the caller's choice, passed to
 * {@code encode(text, addBos)}.
 *
 * <p>Special tokens: control pieces written in the text (such as {@code <|eot_id|>} in a chat
 * template's output) become their single ids unless the caller encodes with
 * {@code parseSpecial = false}; user-defined pieces are always matched.
 */
package magicpig.tokenizer;
