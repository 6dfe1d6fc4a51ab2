/**
 * Evidence for the attention methods: {@link magicpig.attention.eval.AttentionEval} (error of the
 * attention output against exact attention at matched fractions of keys, on
 * {@link magicpig.attention.eval.Workload}s) and {@link magicpig.attention.eval.AttentionBench}
 * (decode-step time of one layer, dense against MagicPIG, and heap bytes per step). The CLI calls
 * their {@code run(String[], PrintStream, PrintStream)}.
 */
package magicpig.attention.eval;
