package magicpig.cluster.metrics;

import com.typesafe.config.Config;
import java.time.Duration;
import magicpig.metrics.NodeMetrics;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The metrics of the node an actor system runs: its {@link NodeMetrics} (labelled with the node's
 * cluster address) and {@link ActorMetrics}, made on first use from {@code magicpig.metrics} in
 * the system's configuration. A system without that section (a test's bare actor system) gets
 * metrics that are off.
 */
public final class MetricsExtension implements Extension {
    private static final ExtensionId<MetricsExtension> ID = new ExtensionId<>() {
        @Override
        public MetricsExtension createExtension(ActorSystem<?> system) {
            return new MetricsExtension(system);
        }
    };

    private final MetricsSettings settings;
    private final NodeMetrics node;
    private final ActorMetrics actors;

    private MetricsExtension(ActorSystem<?> system) {
        Config c = system.settings().config();
        settings = c.hasPath("magicpig.metrics") ? MetricsSettings.from(c.getConfig("magicpig.metrics")) : MetricsSettings.OFF;
        node = NodeMetrics.create(nodeLabel(system.address()), settings.enabled());
        actors = new ActorMetrics(node.registry(), settings.enabled(), settings.window());
        system.getWhenTerminated().thenRun(node::close);
    }

    public static MetricsExtension get(ActorSystem<?> system) {
        return ID.apply(system);
    }

    /** A node's label: its cluster address as host:port (the system's name alone when it has no remoting). */
    public static String nodeLabel(Address a) {
        return a.getHost().isPresent() && a.getPort().isPresent() ? a.getHost().get() + ":" + a.getPort().get() : a.system();
    }

    public MetricsSettings settings() {
        return settings;
    }

    public boolean enabled() {
        return settings.enabled();
    }

    public NodeMetrics node() {
        return node;
    }

    public ActorMetrics actors() {
        return actors;
    }

    /**
     * The {@code magicpig.metrics} settings.
     *
     * @param port     where nodes without a gateway serve {@code GET /metrics} (0: any free port)
     * @param interval how often every node reports a snapshot to the gateways' dashboards
     * @param window   reports over which the dashboard's rates and quantiles are taken
     */
    public record MetricsSettings(boolean enabled, String host, int port, Duration interval, int window) {
        static final MetricsSettings OFF = new MetricsSettings(false, "127.0.0.1", 0, Duration.ofSeconds(1), 5);

        public static MetricsSettings from(Config m) {
            MetricsSettings s = new MetricsSettings(m.getBoolean("enabled"), m.getString("host"), m.getInt("port"),
                    m.getDuration("report-interval"), m.getInt("window"));
            if (s.port < 0 || s.port > 65535) throw new IllegalArgumentException("magicpig.metrics.port must be 0..65535, got " + s.port);
            if (s.interval.isNegative() || s.interval.isZero()) {
                throw new IllegalArgumentException("magicpig.metrics.report-interval must be positive, got " + s.interval);
            }
            if (s.window < 1) throw new IllegalArgumentException("magicpig.metrics.window must be at least 1, got " + s.window);
            return s;
        }
    }
}
