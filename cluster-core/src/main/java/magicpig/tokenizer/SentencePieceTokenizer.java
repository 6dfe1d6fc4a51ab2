package magicpig.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * SentencePiece-style BPE with byte fallback, the tokenizer of Llama 1 and 2: llama2.c's
 * {@code tokenizer.bin}, GGUF {@code tokenizer.ggml.model = "llama"} and Llama 2's tokenizer.json.
 *
 * <p>Encoding, as llama2.c's {@code encode()} and llama.cpp's SPM tokenizer do it:
 * <ol>
 * <li>optional BOS;</li>
 * <li>special-token texts are cut out of the text first (see {@link Tokenizer#encode(String, boolean, boolean)});</li>
 * <li>a non-empty run of text gets a dummy-prefix space when it starts the text or follows a special
 * token ({@code add_dummy_prefix}), and its spaces become the vocabulary's word marker: U+2581 '▁'
 * in SentencePiece/GGUF vocabularies, a plain space in llama2.c's exported ones (detected from
 * the pieces);</li>
 * <li>each UTF-8 character becomes its piece, or, when it is not a piece, one {@code <0xNN>}
 * byte-fallback token per byte;</li>
 * <li>the adjacent pair whose concatenation is a piece with the highest score merges, the leftmost
 * among equal scores, until no pair merges. (Vocabularies from tokenizer.json have merge ranks
 * instead of scores: there the earliest-listed merge wins.)</li>
 * </ol>
 * A character missing from the vocabulary becomes byte tokens before merging, as in llama2.c and
 * Hugging Face; SentencePiece itself keeps it as text until after merging, which differs only for
 * vocabularies holding a merged piece that contains a character they lack as a piece of its own.
 */
public final class SentencePieceTokenizer implements Tokenizer {

    /** SentencePiece's word marker, U+2581 LOWER ONE EIGHTH BLOCK, which stands for a space in pieces. */
    public static final char WORD_MARKER = '\u2581';

    private final String[] pieces;
    private final int[] types;
    private final byte[][] bytes;
    private final Map<String, Integer> ids;
    /** Token of each byte value's {@code <0xNN>} piece, or -1. */
    private final int[] byteTokens = new int[256];
    private final int bos;
    private final int eos;
    private final int unk;
    /** What a space is inside pieces: '▁' or, for llama2.c exports, ' '. */
    private final char space;
    private final boolean addSpacePrefix;
    private final SpecialTokens specials;
    private final MergeRule rule;

    private SentencePieceTokenizer(String[] pieces, float[] scores, List<MergePair> merges, int[] tokenTypes,
                                   int bos, int eos, boolean addSpacePrefix) {
        int n = pieces.length;
        if (n == 0) throw new IllegalArgumentException("empty vocabulary");
        checkId("bos", bos, n);
        checkId("eos", eos, n);
        this.pieces = pieces.clone();
        for (int i = 0; i < n; i++)
            if (this.pieces[i] == null) throw new IllegalArgumentException("piece " + i + " is null");
        this.types = tokenTypes != null ? TokenType.checked(tokenTypes, n) : inferTypes(this.pieces, bos, eos);
        this.bos = bos;
        this.eos = eos;
        this.addSpacePrefix = addSpacePrefix;
        this.ids = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) ids.putIfAbsent(this.pieces[i], i);
        Arrays.fill(byteTokens, -1);
        int unknown = -1;
        for (int i = 0; i < n; i++) {
            if (types[i] == TokenType.BYTE) {
                int b = TokenType.fallbackByte(this.pieces[i]);
                if (b >= 0 && byteTokens[b] < 0) byteTokens[b] = i;
            }
            if (types[i] == TokenType.UNKNOWN && unknown < 0) unknown = i;
        }
        this.unk = unknown;
        this.space = detectSpace(this.pieces, types);
        this.bytes = new byte[n][];
        for (int i = 0; i < n; i++) bytes[i] = decodePiece(i);
        this.specials = new SpecialTokens(this.pieces, types);
        this.rule = scores != null ? scoreRule(scores) : rankRule(merges);
    }

    /**
     * A llama2.c {@code tokenizer.bin} holding exactly vocabSize pieces (the model's vocab_size);
     * BOS is 1 and EOS is 2, as llama2.c hard-codes them.
     */
    public static SentencePieceTokenizer fromLlama2cFile(Path file, int vocabSize) throws IOException {
        Llama2cVocabulary v = Llama2cVocabulary.read(file, vocabSize);
        if (v.pieces().length < 3)
            throw new MalformedTokenizerException(file, "holds " + v.pieces().length + " pieces, fewer than <unk>, <s>, </s>");
        return new SentencePieceTokenizer(v.pieces(), v.scores(), null, null, 1, 2, true);
    }

    /** A llama2.c {@code tokenizer.bin}, every piece up to the end of the file. */
    public static SentencePieceTokenizer fromLlama2cFile(Path file) throws IOException {
        return fromLlama2cFile(file, -1);
    }

    /** A scored vocabulary (GGUF {@code llama} tokenizer) with the dummy-prefix space on. */
    public static SentencePieceTokenizer fromVocabulary(String[] pieces, float[] scores, int[] tokenTypes, int bos, int eos) {
        return fromVocabulary(pieces, scores, tokenTypes, bos, eos, true);
    }

    /**
     * A scored vocabulary, as GGUF's {@code tokenizer.ggml.tokens}, {@code .scores} and
     * {@code .token_type} (null: inferred: {@code <unk>} unknown, bos and eos control,
     * {@code <0xNN>} byte, the rest normal), {@code .bos_token_id}, {@code .eos_token_id} (-1: none)
     * and {@code .add_space_prefix} (true when the file does not say).
     */
    public static SentencePieceTokenizer fromVocabulary(String[] pieces, float[] scores, int[] tokenTypes,
                                                        int bos, int eos, boolean addSpacePrefix) {
        if (scores.length != pieces.length)
            throw new IllegalArgumentException("scores hold " + scores.length + " entries for " + pieces.length + " pieces");
        return new SentencePieceTokenizer(pieces, scores.clone(), null, tokenTypes, bos, eos, addSpacePrefix);
    }

    /**
     * A vocabulary whose merges are ranked by a list instead of scores (Hugging Face's BPE model with
     * byte fallback, as in Llama 2's tokenizer.json): the earliest merge in the list applies first.
     */
    public static SentencePieceTokenizer fromMerges(String[] pieces, List<MergePair> merges, int[] tokenTypes,
                                                    int bos, int eos, boolean addSpacePrefix) {
        return new SentencePieceTokenizer(pieces, null, List.copyOf(merges), tokenTypes, bos, eos, addSpacePrefix);
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bosId() {
        return bos;
    }

    /** End-of-sequence id, or -1 when the vocabulary has none. */
    public int eosId() {
        return eos;
    }

    @Override
    public boolean isEndOfText(int token) {
        return token == eos && eos >= 0;
    }

    /** Whether runs of text get the dummy-prefix space. */
    public boolean addsSpacePrefix() {
        return addSpacePrefix;
    }

    /** What stands for a space inside this vocabulary's pieces: {@link #WORD_MARKER} or ' '. */
    public char spaceSymbol() {
        return space;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList(text.length() + 2);
        if (addBos && bos >= 0) out.add(bos);
        // llama.cpp's rule: the dummy prefix goes on the first run of text and on each run after a
        // special token; an empty text gets none (llama2.c: only "if (text[0] != '\0')").
        boolean afterSpecial = true;
        for (SpecialTokens.Segment segment : specials.split(text, parseSpecial)) {
            if (segment.isToken()) {
                out.add(segment.token());
                afterSpecial = true;
            } else {
                out.addAll(encodeRun(segment.text(), addSpacePrefix && afterSpecial));
                afterSpecial = false;
            }
        }
        return out.toArray();
    }

    private int[] encodeRun(String run, boolean prefix) {
        String s = prefix ? " " + run : run;
        if (space != ' ') s = s.replace(' ', space);
        IntList symbols = new IntList(s.length());
        s.codePoints().forEach(cp -> {
            String character = Character.toString(cp);
            Integer id = ids.get(character);
            if (id != null && TokenType.isOrdinary(types[id])) {
                symbols.add(id);
                return;
            }
            // Byte fallback: one <0xNN> token per UTF-8 byte; <unk> for the character when the
            // vocabulary lacks a byte piece.
            byte[] utf8 = character.getBytes(StandardCharsets.UTF_8);
            int[] fallback = new int[utf8.length];
            for (int i = 0; i < utf8.length; i++) {
                fallback[i] = byteTokens[utf8[i] & 0xFF];
                if (fallback[i] < 0) {
                    if (unk >= 0) symbols.add(unk);
                    return;
                }
            }
            symbols.addAll(fallback);
        });
        return BpeMerge.apply(symbols.toArray(), rule);
    }

    @Override
    public byte[] tokenBytes(int token) {
        checkToken(token);
        return bytes[token].clone();
    }

    /**
     * Text of a run of tokens, with llama2.c's rule for the dummy prefix: a piece that follows BOS
     * loses its leading space, so {@code decode(encode(s, true)) == s}. A run that does not start
     * with BOS keeps every space (a continuation of earlier text).
     */
    @Override
    public String decode(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < tokens.length; i++) {
            checkToken(tokens[i]);
            byte[] b = bytes[tokens[i]];
            boolean dropSpace = addSpacePrefix && i > 0 && tokens[i - 1] == bos && bos >= 0 && b.length > 0 && b[0] == ' ';
            out.write(b, dropSpace ? 1 : 0, dropSpace ? b.length - 1 : b.length);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String piece(int token) {
        checkToken(token);
        return pieces[token];
    }

    @Override
    public int pieceId(String piece) {
        Integer id = ids.get(piece);
        return id == null ? -1 : id;
    }

    /** The token's type ({@link TokenType}). */
    public int tokenType(int token) {
        checkToken(token);
        return types[token];
    }

    private byte[] decodePiece(int id) {
        String piece = pieces[id];
        return switch (types[id]) {
            // Control, unknown and unused pieces stand for no text.
            case TokenType.CONTROL, TokenType.UNKNOWN, TokenType.UNUSED -> new byte[0];
            case TokenType.BYTE -> {
                int b = TokenType.fallbackByte(piece);
                yield b >= 0 ? new byte[]{(byte) b} : piece.getBytes(StandardCharsets.UTF_8);
            }
            // User-defined pieces are written out as they are.
            case TokenType.USER_DEFINED -> piece.getBytes(StandardCharsets.UTF_8);
            // The word marker is a space.
            default -> piece.replace(WORD_MARKER, ' ').getBytes(StandardCharsets.UTF_8);
        };
    }

    /** Merges by score: the pair's concatenation must be an ordinary piece; its score is the priority. */
    private MergeRule scoreRule(float[] scores) {
        MergeRule.Merge[] byToken = new MergeRule.Merge[pieces.length];
        for (int i = 0; i < pieces.length; i++)
            if (TokenType.isOrdinary(types[i])) byToken[i] = new MergeRule.Merge(i, scores[i]);
        return (left, right) -> {
            if (!TokenType.isOrdinary(types[left]) || !TokenType.isOrdinary(types[right])) return null;
            Integer merged = ids.get(pieces[left] + pieces[right]);
            return merged == null ? null : byToken[merged];
        };
    }

    /** Merges by list position: the earlier the merge, the higher its priority. */
    private MergeRule rankRule(List<MergePair> merges) {
        Map<Long, MergeRule.Merge> byPair = new HashMap<>(merges.size() * 2);
        for (int rank = 0; rank < merges.size(); rank++) {
            MergePair m = merges.get(rank);
            Integer l = ids.get(m.left()), r = ids.get(m.right()), merged = ids.get(m.merged());
            // A merge naming pieces the vocabulary lacks can never apply.
            if (l == null || r == null || merged == null) continue;
            byPair.putIfAbsent(MergeRule.pairKey(l, r), new MergeRule.Merge(merged, -rank));
        }
        return (left, right) -> byPair.get(MergeRule.pairKey(left, right));
    }

    /** '▁' unless the ordinary pieces hold plain spaces and no '▁' (a llama2.c export). */
    private static char detectSpace(String[] pieces, int[] types) {
        boolean marker = false, plain = false;
        for (int i = 0; i < pieces.length; i++) {
            if (!TokenType.isOrdinary(types[i])) continue;
            marker |= pieces[i].indexOf(WORD_MARKER) >= 0;
            plain |= pieces[i].indexOf(' ') >= 0;
        }
        return plain && !marker ? ' ' : WORD_MARKER;
    }

    /** Types for a vocabulary that has none: {@code <unk>}, bos and eos, {@code <0xNN>}, the rest normal. */
    private static int[] inferTypes(String[] pieces, int bos, int eos) {
        int[] types = new int[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            if (i == bos || i == eos) types[i] = TokenType.CONTROL;
            else if (pieces[i].equals("<unk>")) types[i] = TokenType.UNKNOWN;
            else if (TokenType.fallbackByte(pieces[i]) >= 0) types[i] = TokenType.BYTE;
            else types[i] = TokenType.NORMAL;
        }
        return types;
    }

    private static void checkId(String what, int id, int vocabSize) {
        if (id < -1 || id >= vocabSize)
            throw new IllegalArgumentException(what + " id " + id + " is outside the vocabulary of " + vocabSize);
    }

    private void checkToken(int token) {
        if (token < 0 || token >= pieces.length)
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary of " + pieces.length);
    }
}
