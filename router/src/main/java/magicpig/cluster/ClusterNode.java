package magicpig.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import magicpig.attention.AttentionSettings;
import magicpig.model.Attention;
import magicpig.model.Model;
import magicpig.model.ModelLoader;
import magicpig.shard.AttentionShards;
import magicpig.tensor.GgmlType;
import magicpig.transport.AeronDataPlane;
import magicpig.worker.TransformerWorker;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
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
    private final AeronDataPlane dataPlane;

    private ClusterNode(ActorSystem<Void> system, Set<String> roles, Model model, AeronDataPlane dataPlane) {
        this.system = system;
        this.roles = roles;
        this.model = model;
        this.dataPlane = dataPlane;
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
        // attention shards serve the data plane through this node's embedded media driver
        AeronDataPlane dataPlane = null;
        try {
            if (roles.contains(CPU_ATTENTION)) dataPlane = AeronDataPlane.launchEmbedded(AttentionShards.dataPlaneSettings(mp));
            ActorSystem<Void> system = ActorSystem.create(guardian(roles, model, mp, dataPlane), "magicpig", full);
            // Entities live on gateway nodes; other roles get a proxy from the same call. Done here, not
            // in the guardian, so that the node can take requests as soon as start returns.
            ClusterSharding.get(system).init(Entity.of(SequenceEntity.TYPE_KEY, ec -> SequenceEntity.create(ec.getEntityId()))
                    .withRole(GATEWAY));
            if (full.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
                Cluster cluster = Cluster.get(system);
                cluster.manager().tell(Join.create(cluster.selfMember().address()));
            }
            return new ClusterNode(system, roles, model, dataPlane);
        } catch (RuntimeException e) {
            if (dataPlane != null) dataPlane.close();
            if (model != null) model.close();
            throw e;
        }
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

    private static Behavior<Void> guardian(Set<String> roles, Model model, Config mp, AeronDataPlane dataPlane) {
        return Behaviors.setup(ctx -> {
            if (roles.contains(GPU_WORKER)) {
                Config w = mp.getConfig("worker");
                var settings = new TransformerWorker.Settings(w.getInt("max-batch"), w.getInt("max-queued"), w.getInt("prefill-chunk"));
                String name = "worker@" + ctx.getSystem().address().hostPort();
                ctx.spawn(TransformerWorker.create(name, model, model.llama(), settings, attentionFactories(mp)), "transformer-worker",
                        DispatcherSelector.fromConfig("magicpig-worker-dispatcher"));
            }
            if (roles.contains(CPU_ATTENTION)) AttentionShards.start(ctx, mp, dataPlane);
            return Behaviors.empty();
        });
    }

    /**
     * Turns a request's attention settings (flag names, e.g. attention=magicpig, lsh-k=10) into a
     * factory, on top of the node's configured defaults; null means the engine's dense attention.
     */
    static Function<Map<String, String>, Attention.Factory> attentionFactories(Config mp) {
        Config a = mp.getConfig("attention");
        Map<String, String> defaults = new java.util.LinkedHashMap<>();
        defaults.put("attention", a.getString("mode"));
        for (String k : List.of("lsh-k", "lsh-l", "lsh-threshold", "sink", "local", "dense-layers", "budget", "seed")) {
            defaults.put(k, a.getString(k));
        }
        AttentionSettings base = AttentionSettings.fromFlags(new java.util.LinkedHashMap<>(defaults));
        return request -> {
            Map<String, String> flags = new java.util.LinkedHashMap<>(request == null ? Map.of() : request);
            AttentionSettings s = base.consume(flags);
            if (!flags.isEmpty()) throw new IllegalArgumentException("unknown attention settings " + flags.keySet());
            return s.mode() == AttentionSettings.Mode.DENSE ? null : s.factory();
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

    /** This node's Aeron data plane (embedded media driver); null on nodes without a cpu-attention role. */
    public AeronDataPlane dataPlane() {
        return dataPlane;
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
        if (dataPlane != null) dataPlane.close(); // after the shards stopped with the actor system
        if (model != null) model.close();
    }
}
