/**
 * The OpenAI-compatible HTTP gateway of gateway nodes (Pekko HTTP).
 *
 * <h2>Endpoints</h2>
 * {@code POST /v1/completions}, {@code POST /v1/chat/completions}, {@code GET /v1/models} (and
 * {@code /v1/models/ID}), {@code GET /health} (the process answers) and {@code GET /ready} (a
 * transformer worker is registered in the cluster and, unless the attention mode is dense, a
 * cpu-attention node is up; 503 until then). Parameters: {@code max_tokens} /
 * {@code max_completion_tokens}, {@code temperature}, {@code top_p}, {@code top_k}, {@code min_p},
 * {@code seed}, {@code stop} (string or list, matched on the decoded text, cut, and the sequence
 * cancelled), {@code n} = 1, {@code stream}, {@code stream_options.include_usage}; and the extension
 * {@code "magicpig": {"attention": "dense|magicpig|topk|quest|oracle-sampling", "lsh_k": 1..16,
 * "lsh_l": 1..4096}}, passed to the worker as {@code GenerationRequest.attention} in flag form
 * ({@code attention}, {@code lsh-k}, {@code lsh-l}). Errors use OpenAI's shape
 * {@code {"error": {"message", "type", "param", "code"}}}: 400 bad body or parameter or a prompt over
 * the context, 401 missing or wrong key (only when {@code magicpig.http.api-keys} is set), 404 unknown
 * model or path, 405 wrong method, 413 body over {@code magicpig.http.max-body}, 429 with
 * {@code Retry-After} past the admission bound, 503 no worker; 500 carries the cluster's reason,
 * never a stack trace.
 *
 * <p>For observers, without a key: {@code GET /metrics} (this node, Prometheus text format),
 * {@code GET /dashboard/state} and {@code GET /dashboard/events} (the cluster as the dashboard
 * shows it; {@link magicpig.gateway.DashboardFeed}, docs/dashboard.md).
 *
 * <h2>Design decisions</h2>
 * <ul>
 * <li><b>Gateway-only nodes</b> tokenize and render chat templates themselves, so they read the model
 * named by {@code magicpig.model} too ({@link magicpig.gateway.ServedModel}): a model file is
 * memory-mapped (cheap); a synthetic model is only described by its shape and vocabulary. A node with
 * both roles shares the worker's loaded model.</li>
 * <li><b>Chat template</b>: the model's own (GGUF / tokenizer_config.json), rendered by the Jinja subset
 * in {@code magicpig.chat}; if it does not parse or render, the built-in Llama 3 / ChatML / Llama 2
 * format its vocabulary fits, with a logged warning. BOS is added unless the rendered text starts
 * with it.</li>
 * <li><b>Admission</b>: at most {@code magicpig.http.max-in-flight} generations at once, or, when that
 * is 0, workers up x (worker.max-batch + worker.max-queued), what the workers can run or queue;
 * beyond it the gateway answers 429 at once rather than letting latency grow.</li>
 * <li><b>Streaming</b>: one SSE event per token that completes text, through a bounded queue; a client
 * that stops reading fills it and is treated as gone. UTF-8 characters split across tokens are held
 * until whole; text that may begin a stop string is held until it is known not to.</li>
 * <li><b>Cancellation</b>: every connection is handled by its own flow whose termination is watched,
 * so a hang-up cancels the sequence whether the answer is streamed or not; the entity tells the
 * worker, which drops it from the batch.</li>
 * <li><b>Retry</b>: {@link magicpig.cluster.SequenceEntity} resubmits prompt + tokens so far to another
 * worker when its worker leaves the cluster; the stream pauses for failure detection, then goes on.</li>
 * </ul>
 */
package magicpig.gateway;
