package magicpig.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import magicpig.cuda.ComputeBackends;
import magicpig.model.Attention;
import magicpig.model.ComputeBackend;
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
    private final ComputeBackend backend;

    private ClusterNode(ActorSystem<Void> system, Set<String> roles, Model model, ComputeBackend backend) {
        this.system = system;
        this.roles = roles;
        this.model = model;
        this.backend = backend;
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
        Model model = roles.contains(GPU_WORKER) ? loadModel(mp) : null;
        ComputeBackend backend = null;
        try {
            if (model != null) {
                backend = ComputeBackends.select(mp.getString("backend"), model);
                log.info("worker backend: {}", backend.description());
            }
            ActorSystem<Void> system = ActorSystem.create(guardian(roles, model, backend, mp), "magicpig", full);
            // Entities live on gateway nodes; other roles get a proxy from the same call. Done here, not
            // in the guardian, so that the node can take requests as soon as start returns.
            ClusterSharding.get(system).init(Entity.of(SequenceEntity.TYPE_KEY, ec -> SequenceEntity.create(ec.getEntityId()))
                    .withRole(GATEWAY));
            if (full.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
                Cluster cluster = Cluster.get(system);
                cluster.manager().tell(Join.create(cluster.selfMember().address()));
            }
            // A gateway that also runs the worker (the embedded default) takes requests once its
            // worker is listed: before, a request could find no worker (a loaded machine takes
            // seconds to join the cluster and spread the registration).
            if (roles.contains(GATEWAY) && roles.contains(GPU_WORKER)) awaitWorker(system, Duration.ofSeconds(30));
            return new ClusterNode(system, roles, model, backend);
        } catch (RuntimeException e) {
            if (backend != null) backend.close();
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

    private static Behavior<Void> guardian(Set<String> roles, Model model, ComputeBackend backend, Config mp) {
        return Behaviors.setup(ctx -> {
            if (roles.contains(GPU_WORKER)) {
                Config w = mp.getConfig("worker");
                var settings = new TransformerWorker.Settings(w.getInt("max-batch"), w.getInt("max-queued"), w.getInt("prefill-chunk"));
                String name = "worker@" + ctx.getSystem().address().hostPort();
                ctx.spawn(TransformerWorker.create(name, model, backend, settings, attentionFactories(mp)), "transformer-worker",
                        DispatcherSelector.fromConfig("magicpig-worker-dispatcher"));
            }
            return Behaviors.empty();
        });
    }

    /** Turns a request's attention settings into a factory (null = the engine's dense attention). */
    static Function<Map<String, String>, Attention.Factory> attentionFactories(Config mp) {
        return settings -> {
            String mode = settings == null ? "dense" : settings.getOrDefault("attention", "dense");
            if (mode.equals("dense")) return null;
            throw new IllegalArgumentException("attention mode '" + mode + "' is not available in the cluster yet");
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

    /** A client for submitting generations; only on gateway nodes. */
    public SequenceClient client() {
        if (!roles.contains(GATEWAY)) throw new IllegalStateException("this node has no gateway role");
        return new SequenceClient(system);
    }

    /** Leaves the cluster and stops; returns when the actor system has terminated. */
    @Override
    public void close() throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
        if (backend != null) backend.close();
        if (model != null) model.close();
    }
}
