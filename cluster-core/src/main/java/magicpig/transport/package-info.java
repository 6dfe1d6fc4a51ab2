/**
 * The data plane's transport: Aeron publications and subscriptions between transformer workers
 * and attention shards, carrying the {@link magicpig.wire} messages. No actors here; the actor
 * modules own endpoints and call into them.
 *
 * <h2>Shape</h2>
 * <ul>
 *   <li>{@link magicpig.transport.AeronDataPlane}: the Aeron client of this process and its media
 *       driver, embedded (default; a fresh directory under /dev/shm, deleted on close) or external.
 *   <li>{@link magicpig.transport.ShardEndpoint}: one per attention shard, an Agrona {@code Agent}
 *       that subscribes on the shard's channel, calls a {@link magicpig.transport.ShardHandler} and
 *       replies on each worker's response channel (learnt from the worker's Hello).
 *   <li>{@link magicpig.transport.WorkerEndpoint}: one per transformer worker; sends queries, block
 *       transfers and frees to {@link magicpig.transport.ShardLink}s and collects the replies by
 *       correlation id on the caller's thread.
 *   <li>{@link magicpig.transport.ShardAddress}: how a shard is advertised in the cluster's
 *       messages: its IPC and UDP channels, stream and media-driver directory; a worker on the same
 *       driver uses IPC, any other UDP.
 * </ul>
 *
 * <h2>Decisions</h2>
 * <ul>
 *   <li><b>Shard: an agent with an idle strategy; worker: the caller's thread.</b> A shard has
 *       nothing to do between requests, so a duty cycle with {@link magicpig.transport.IdlePolicy}
 *       (backoff by default, since a host runs many shards) fits. A worker's decode step blocks on
 *       its shards' replies anyway, so the thread that computed the queries sends them and polls for
 *       the replies itself, merging each as it lands: no hand-off to a sender or receiver thread and
 *       back, each of which would cost a wake-up.
 *   <li><b>Back-pressure is explicit.</b> Every offer and claim goes through one loop that counts
 *       BACK_PRESSURED and ADMIN_ACTION and retries them with an idle strategy until the offer
 *       deadline, and turns NOT_CONNECTED, CLOSED, MAX_POSITION_EXCEEDED and the deadline into a
 *       {@link magicpig.transport.DataPlaneException} that names the peer.
 *   <li><b>Frames.</b> IPC runs with a 64 KiB MTU so a query (26 KB) or reply (17 KB) is one frame,
 *       read in place; UDP keeps Aeron's 1,408 unless the network has jumbo frames. Block transfers
 *       use chunks of one frame each, encoded straight into the log buffer with a
 *       {@code BufferClaim}, which the shard copies once into its reassembly buffer.
 *   <li><b>Replies of several shards</b> share the worker's one response stream, each shard on its
 *       own exclusive publication (its own session), and are matched by correlation id.
 *   <li><b>Errors off the Aeron poll.</b> Aeron swallows exceptions thrown inside a fragment
 *       handler, so endpoints catch them there and rethrow after the poll (worker) or answer with
 *       an {@link magicpig.wire.ErrorMessage} (shard).
 * </ul>
 *
 * <h2>Counters</h2>
 * Each endpoint keeps {@link magicpig.transport.TransportStats}: messages and bytes each way,
 * back-pressure and admin-action events, failed offers, timeouts, malformed frames, stale replies,
 * duplicate chunks and gaps, error replies. Single writer, readable from any thread.
 *
 * <h2>Measuring</h2>
 * {@link magicpig.transport.DataPlaneBench} measures query/reply round trips over IPC and UDP.
 */
package magicpig.transport;
