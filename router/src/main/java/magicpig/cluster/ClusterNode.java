package magicpig.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import magicpig.attention.AttentionSettings;
import magicpig.attention.SparseAttention;
import magicpig.cluster.metrics.ActorMetrics;
import magicpig.cluster.metrics.MetricsExtension;
import magicpig.cluster.metrics.MetricsReporter;
import magicpig.cluster.metrics.MetricsServer;
import magicpig.metrics.AttentionMetrics;
import magicpig.metrics.NodeMetrics;
import magicpig.metrics.RequestMetrics;
import magicpig.cuda.ComputeBackends;
import magicpig.gateway.Gateway;
import magicpig.gateway.GatewaySettings;
import magicpig.gateway.ServedModel;
import magicpig.model.Attention;
import magicpig.model.ComputeBackend;
import magicpig.shard.AttentionShards;
import magicpig.transport.AeronDataPlane;
import magicpig.transport.WorkerEndpoint;
import magicpig.worker.GenerationRequest;
import magicpig.worker.remote.RemoteMagicPigAttention;
import magicpig.model.Model;
import magicpig.model.ModelLoader;
import magicpig.tensor.GgmlType;
import magicpig.worker.TransformerWorker;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One process of the cluster. Its roles decide what it runs: {@code gateway} hosts the sequence
 * entities (and the HTTP gateway), {@code gpu-worker} a transformer worker over the model,
 * {@code cpu-attention} attention shards. With no seed nodes it joins itself: the embedded default.
 */
public final class ClusterNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);
    public static final String GATEWAY = "gateway", GPU_WORKER = "gpu-worker", CPU_ATTENTION = "cpu-attention";

    private final ActorSystem<Void> system;
    private final Set<String> roles;
    private final Model model;
    private final Gateway gateway;
    private final AeronDataPlane dataPlane;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final ComputeBackend backend;
    private final MetricsServer metricsServer;

    private ClusterNode(ActorSystem<Void> system, Set<String> roles, Model model, Gateway gateway, AeronDataPlane dataPlane,
                        ComputeBackend backend, MetricsServer metricsServer) {
        this.metricsServer = metricsServer;
        this.system = system;
        this.roles = roles;
        this.model = model;
        this.gateway = gateway;
        this.dataPlane = dataPlane;
        this.backend = backend;
    }

    /** This node's Aeron data plane (embedded media driver); null on gateway-only nodes. */
    public AeronDataPlane dataPlane() {
        return dataPlane;
    }

    /** Our defaults; loaded explicitly, so that shading cannot reorder them under Pekko's reference.conf. */
    public static final String DEFAULTS = "magicpig-defaults.conf";

    /** Starts a node from configuration layered on {@value #DEFAULTS} (see {@code magicpig { ... }} there). */
    public static ClusterNode start(Config overrides) throws Exception {
        Config config = overrides.withFallback(ConfigFactory.parseResources(DEFAULTS)).withFallback(ConfigFactory.load()).resolve();
        Config mp = config.getConfig("magicpig");
        Set<String> roles = new HashSet<>(mp.getStringList("roles"));
        for (String r : roles) {
            if (!Set.of(GATEWAY, GPU_WORKER, CPU_ATTENTION).contains(r)) {
                throw new IllegalArgumentException("unknown role '" + r + "' (expected gateway, gpu-worker, cpu-attention)");
            }
        }
        if (roles.isEmpty()) throw new IllegalArgumentException("a node needs at least one role");
        Config full = ConfigFactory.parseMap(Map.of("pekko.cluster.roles", List.copyOf(roles))).withFallback(config);
        GatewaySettings http = roles.contains(GATEWAY) ? GatewaySettings.from(mp) : null;
        MetricsExtension.MetricsSettings.from(mp.getConfig("metrics")); // bad settings fail here, before anything starts
        Model model = roles.contains(GPU_WORKER) ? loadModel(mp) : null;
        ServedModel served = null;
        MetricsServer metricsServer = null;
        ActorSystem<Void> started = null;
        AeronDataPlane dataPlane = null;
        ComputeBackend backend = null;
        try {
            if (model != null) {
                backend = ComputeBackends.select(mp.getString("backend"), model);
                log.info("worker backend: {}", backend.description());
            }
            // workers and attention shards talk over this node's embedded media driver
            if (roles.contains(GPU_WORKER) || roles.contains(CPU_ATTENTION)) {
                dataPlane = AeronDataPlane.launchEmbedded(AttentionShards.dataPlaneSettings(mp));
            }
            if (http != null) {
                // A gateway tokenizes and renders chat templates itself; without a worker here it reads the
                // same model spec for that (see ServedModel).
                served = model != null ? ServedModel.of(model, http.servedName(), log::warn)
                        : ServedModel.load(mp, http.servedName(), log::warn);
            }
            boolean embedded = full.getStringList("pekko.cluster.seed-nodes").isEmpty();
            ActorSystem<Void> system = ActorSystem.create(guardian(roles, model, backend, mp, dataPlane, embedded), "magicpig", full);
            started = system;
            MetricsExtension metrics = MetricsExtension.get(system);
            if (dataPlane != null) metrics.node().bindDataPlane(dataPlane::stats);
            // Entities live on gateway nodes; other roles get a proxy from the same call. Done here, not
            // in the guardian, so that the node can take requests as soon as start returns.
            PlacementPolicy policy = served == null ? null : PlacementPolicy.from(mp, served.config());
            RequestMetrics requests = roles.contains(GATEWAY) ? metrics.node().requests() : NodeMetrics.OFF.requests();
            ActorMetrics actors = metrics.actors();
            ClusterSharding.get(system).init(Entity.of(SequenceEntity.TYPE_KEY, ec -> actors.instrument("SequenceEntity", ActorMetrics.ALL,
                            SequenceEntity.create(ec.getEntityId(), policy, requests)))
                    .withRole(GATEWAY).withEntityProps(actors.props()));
            // Gateways answer GET /metrics on their API port; other nodes on a port of their own.
            if (metrics.enabled() && !roles.contains(GATEWAY)) {
                metricsServer = MetricsServer.start(system, metrics.node(), metrics.settings().host(), metrics.settings().port());
            }
            if (full.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
                Cluster cluster = Cluster.get(system);
                cluster.manager().tell(Join.create(cluster.selfMember().address()));
            }
            // A gateway that also runs the worker (the embedded default) takes requests once its
            // worker is listed: before, a request could find no worker (a loaded machine takes
            // seconds to join the cluster and spread the registration).
            if (roles.contains(GATEWAY) && roles.contains(GPU_WORKER)) awaitWorker(system, Duration.ofSeconds(30));
            Gateway gateway = served == null ? null : Gateway.start(system, served, http, new SequenceClient(system));
            return new ClusterNode(system, roles, model, gateway, dataPlane, backend, metricsServer);
        } catch (Exception e) {
            if (metricsServer != null) metricsServer.close();
            if (started != null) {
                started.terminate();
                started.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
            }
            if (dataPlane != null) dataPlane.close();
            if (served != null) served.close();
            if (backend != null && backend != model.llama()) backend.close();
            if (model != null) model.close();
            throw e;
        }
    }

    /** Waits until the receptionist lists a transformer worker, at most {@code timeout}; logs when it gives up. */
    static void awaitWorker(ActorSystem<Void> system, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Receptionist.Listing listing = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
                    reply -> Receptionist.find(TransformerWorker.KEY, reply), Duration.ofSeconds(5), system.scheduler())
                    .toCompletableFuture().get();
            if (!listing.getServiceInstances(TransformerWorker.KEY).isEmpty()) return;
            Thread.sleep(20);
        }
        log.warn("no transformer worker was listed within {} s of start; requests fail until one is", timeout.toSeconds());
    }

    static Model loadModel(Config mp) throws Exception {
        String spec = mp.getString("model");
        if (spec.isBlank()) {
            spec = "synthetic:tiny";
            log.info("no model given: serving the demo model {} (deterministic random weights, for trying the system out)", spec);
        }
        Model m = ModelLoader.load(spec, new ModelLoader.Options(null, GgmlType.parse(mp.getString("model-dtype")),
                mp.getLong("model-seed"), mp.getInt("ctx-size")));
        log.info("model {} ({}): {} layers, dim {}, context {}", m.name(), m.format(), m.config().layers(), m.config().dim(),
                m.config().contextLength());
        return m;
    }

    private static Behavior<Void> guardian(Set<String> roles, Model model, ComputeBackend backend, Config mp, AeronDataPlane dataPlane,
                                           boolean embedded) {
        return Behaviors.setup(ctx -> {
            MetricsExtension metrics = MetricsExtension.get(ctx.getSystem());
            ActorMetrics actors = metrics.actors();
            if (roles.contains(CPU_ATTENTION)) {
                AttentionShards.start(ctx, mp, dataPlane, metrics.node(), (shard, b) -> actors.instrument("AttentionShard", shard, b),
                        actors.props());
            }
            if (roles.contains(GPU_WORKER)) {
                Config w = mp.getConfig("worker");
                var settings = new TransformerWorker.Settings(w.getInt("max-batch"), w.getInt("max-queued"), w.getInt("prefill-chunk"));
                String name = "worker@" + ctx.getSystem().address().hostPort();
                WorkerEndpoint endpoint = dataPlane.newWorker(name, workerResponseChannel(mp, ctx.getSystem(), embedded && roles.contains(CPU_ATTENTION)),
                        WORKER_STREAM_ID);
                AttentionMetrics observer = metrics.enabled() ? metrics.node().attention(model.config().layers()) : null;
                ctx.spawn(actors.instrument("TransformerWorker", "worker", TransformerWorker.create(name, model, backend, settings,
                                attentionFactories(mp, endpoint, observer), metrics.node().worker())), "transformer-worker",
                        actors.props(DispatcherSelector.fromConfig("magicpig-worker-dispatcher")));
            }
            if (metrics.enabled()) {
                ctx.spawn(actors.instrument("MetricsReporter", "reporter", MetricsReporter.create(metrics)), "metrics-reporter", actors.props());
            }
            return Behaviors.empty();
        });
    }

    /** Stream on which a worker receives the shards' replies. */
    static final int WORKER_STREAM_ID = 2001;

    /**
     * Where shards answer a worker: IPC when every shard is in this JVM (the embedded default), else
     * UDP on the node's host at {@code magicpig.aeron.worker-port} (0: Artery's port + 2000, or a
     * free port when Artery's is random).
     */
    static String workerResponseChannel(Config mp, ActorSystem<?> system, boolean allLocal) throws java.io.IOException {
        if (allLocal) return "aeron:ipc";
        String host = system.address().getHost().orElse("127.0.0.1");
        int port = mp.hasPath("aeron.worker-port") ? mp.getInt("aeron.worker-port") : 0;
        if (port == 0) {
            int artery = system.settings().config().getInt("pekko.remote.artery.canonical.port");
            if (artery > 0 && artery + 2000 < 65536) {
                port = artery + 2000;
            } else {
                try (java.net.DatagramSocket s = new java.net.DatagramSocket(0)) {
                    port = s.getLocalPort();
                }
            }
        }
        return "aeron:udp?endpoint=" + host + ":" + port;
    }

    /**
     * Turns a request into its attention: its settings (flag names, e.g. attention=magicpig,
     * lsh-k=10) over the node's configured defaults; MagicPIG with a placement samples on the
     * attention shards through the worker's endpoint; null means the engine's dense attention.
     */
    static Function<GenerationRequest, Attention.Factory> attentionFactories(Config mp, WorkerEndpoint endpoint) {
        return attentionFactories(mp, endpoint, null);
    }

    /** As {@link #attentionFactories(Config, WorkerEndpoint)}, each sparse attention reporting its steps to {@code observer} (if not null). */
    static Function<GenerationRequest, Attention.Factory> attentionFactories(Config mp, WorkerEndpoint endpoint,
                                                                            SparseAttention.StepObserver observer) {
        AttentionSettings base = PlacementPolicy.defaults(mp);
        return request -> {
            AttentionSettings s = PlacementPolicy.settings(base, request.attention());
            if (s.mode() == AttentionSettings.Mode.DENSE) return null;
            Attention.Factory f = request.placement() != null ? RemoteMagicPigAttention.factory(s, request.placement(), endpoint) : s.factory();
            if (observer == null) return f;
            return config -> {
                Attention a = f.create(config);
                if (a instanceof SparseAttention<?> sparse) sparse.observe(observer);
                return a;
            };
        };
    }

    public ActorSystem<Void> system() {
        return system;
    }

    public Set<String> roles() {
        return roles;
    }

    public Model model() {
        return model;
    }

    /** The HTTP gateway; only on gateway nodes. */
    public Gateway gateway() {
        if (gateway == null) throw new IllegalStateException("this node has no gateway role");
        return gateway;
    }

    /**
     * The port that serves this node's {@code GET /metrics}: the API port on gateway nodes, else the
     * node's own metrics port (the chosen one when magicpig.metrics.port is 0); -1 when metrics are off.
     */
    public int metricsPort() {
        if (!MetricsExtension.get(system).enabled()) return -1;
        return gateway != null ? gateway.port() : metricsServer.port();
    }

    /** The host {@link #metricsPort()} listens on. */
    public String metricsHost() {
        return gateway != null ? system.settings().config().getString("magicpig.http.host")
                : MetricsExtension.get(system).settings().host();
    }

    /** The port the OpenAI API listens on (the chosen one when magicpig.http.port is 0); only on gateway nodes. */
    public int httpPort() {
        return gateway().port();
    }

    /** A client for submitting generations; only on gateway nodes. */
    public SequenceClient client() {
        if (!roles.contains(GATEWAY)) throw new IllegalStateException("this node has no gateway role");
        return new SequenceClient(system);
    }

    /** Leaves the cluster and stops; returns when the actor system has terminated. */
    @Override
    public void close() throws Exception {
        if (!closed.compareAndSet(false, true)) return; // a shutdown hook and the caller may both close
        if (gateway != null) gateway.close();
        if (metricsServer != null) metricsServer.close();
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
        if (gateway != null) gateway.model().close();
        if (dataPlane != null) dataPlane.close(); // after the shards and the worker stopped with the actor system
        if (backend != null && backend != model.llama()) backend.close();
        if (model != null) model.close();
    }
}
