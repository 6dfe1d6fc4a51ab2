package magicpig.ops;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/**
 * The launcher: {@code magicpig COMMAND [flags]}. Bad input of any kind (flags, files, prompts,
 * settings) prints one line on standard error and exits with status 2, never a stack trace.
 */
public final class Main {
    static final String USAGE = """
            usage: magicpig COMMAND [flags]

            commands:
              generate  --model PATH|synthetic:NAME [--tokenizer PATH] [--prompt TEXT] [--max-tokens N]
                        [--temperature T] [--top-p P] [--top-k K] [--min-p P] [--seed S] [--ids]
                        [--dtype f32|f16|bf16|q8_0|q4_0|q4_k|q6_k] [--ctx-size N] [--prompt-ids IDS]
                        [--attention dense|magicpig|topk|quest|oracle-sampling] [--lsh-k K] [--lsh-l L]
                        [--lsh-threshold T] [--sink N] [--local N] [--dense-layers SPEC] [--budget B]
                        [--lsh-seed S] [--max-static N] [--block-tokens N] [--backend auto|cuda|cpu]
              serve     [--model PATH|synthetic:NAME] [--port 8080] [--host 127.0.0.1] [--config FILE] [--cluster-port N]
                        [--api-key KEY[,KEY...]] [--max-in-flight N] [--served-model-name NAME] [--metrics on|off]
                        [--attention MODE] [--lsh-k K] [--lsh-l L] [--shards N] [--shard-memory SIZE] [--backend auto|cuda|cpu] ...
                        all roles in one JVM (the embedded default); without --model, a small demo model;
                        serves the OpenAI API at http://HOST:PORT/v1 (completions, chat/completions, models)
              node      --roles gateway,gpu-worker,cpu-attention --seed-nodes HOST:PORT[,...] [--cluster-port N]
                        [--metrics-port N]   adds a process to a cluster; without the gateway role it serves
                        GET /metrics on --metrics-port (default 0: any free port, logged)
              bench decode --model PATH|synthetic:NAME [--dtype TYPE] [--context N,...] [--tokens N] [--backend B]
                           [--attention dense,magicpig] [--csv FILE] [--png FILE]   (default docs/results/bench-decode.csv/.png)
              bench attention [--context N,...] [--heads H] [--kv-heads H] [--head-dim D] [--lsh-k K] [--lsh-l L]
                           [--csv FILE] [--png FILE]   (default docs/results/bench-attention.csv/.png)
              bench batching [--model M] [--dtype T] [--sequences 8] [--tokens 16]
              bench dataplane [--channel ipc|udp|both] [--window W] [--mtu BYTES] [--model M] [--context N] [--steps N]
                        worker<->shard round trip over Aeron IPC and UDP, and its share of a decode step
              bench metrics [--model M] [--dtype T] [--attention magicpig|dense] [--sequences 4] [--tokens 1024]
                        [--prompt-tokens 512] [--rounds 12] [--mode concurrent|alternate] [--control]
                        decode tok/s with metrics off vs on + the dashboard open, as a ratio
              eval attention [--out DIR] [...]

            --backend: where the model runs: auto (a CUDA GPU when one is usable, else the CPU, saying why
                       in one log line), cuda (a GPU or an error) or cpu. Default auto.
            --max-tokens N: decode steps after the prompt, as llama2.c's run.c counts them (-n 100 there
                            is --max-tokens 99 here); the prompt's own forward pass yields one more token.

            models: a llama2.c .bin (with --tokenizer), a .gguf file, a Hugging Face directory
                    (config.json + *.safetensors + tokenizer.json), or synthetic:tiny,
                    synthetic:llama-3.2-1b, synthetic:llama-3.1-8b (deterministic random weights)
            """;

    private Main() {}

    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        System.out.flush();
        System.exit(status);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            (args.length == 0 ? err : out).print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        try {
            return switch (args[0]) {
                case "generate" -> GenerateCommand.run(args, out, err);
                case "bench" -> BenchCommand.run(args, out, err);
                case "eval" -> EvalCommand.run(args, out, err);
                case "serve" -> NodeCommand.serve(args, out, err);
                case "node" -> NodeCommand.node(args, out, err);
                default -> throw new UsageException("unknown command '" + args[0] + "'");
            };
        } catch (UsageException e) {
            err.println("magicpig: " + e.getMessage());
            err.print(USAGE);
            return 2;
        } catch (NoSuchFileException e) {
            err.println("magicpig: error: no such file: " + e.getMessage());
            return 2;
        } catch (AccessDeniedException e) {
            err.println("magicpig: error: permission denied: " + e.getMessage());
            return 2;
        } catch (IOException | UncheckedIOException e) {
            err.println("magicpig: error: " + e.getMessage());
            return 2;
        } catch (com.typesafe.config.ConfigException e) {
            err.println("magicpig: error: bad setting: " + e.getMessage());
            return 2;
        } catch (IllegalArgumentException | IllegalStateException e) {
            err.println("magicpig: error: " + e.getMessage());
            return 2;
        } catch (OutOfMemoryError e) {
            err.println("magicpig: error: out of memory (" + e.getMessage() + "); use a smaller model, dtype or context, or raise -Xmx via MAGICPIG_JAVA_OPTS");
            return 1;
        } catch (Exception e) {
            err.println("magicpig: internal error: " + e);
            if (System.getenv("MAGICPIG_DEBUG") != null) e.printStackTrace(err);
            return 1;
        }
    }
}
