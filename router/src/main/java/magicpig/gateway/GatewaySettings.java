package magicpig.gateway;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;

/**
 * The {@code magicpig.http} settings.
 *
 * @param apiKeys       Bearer keys clients must present; empty = no authentication
 * @param maxBodyBytes  larger request bodies get 413
 * @param maxInFlight   generations admitted at once; 0 = derived from the workers up (see {@link Admission})
 * @param retryAfter    what a 429 answer tells the client to wait
 * @param keepAlive     a quiet stream gets an SSE comment this often
 * @param servedName    the model's name in the API; empty = the model's own name
 * @param attentionMode the cluster's default decode attention (readiness needs cpu-attention nodes unless dense)
 */
public record GatewaySettings(String host, int port, List<String> apiKeys, long maxBodyBytes, int maxInFlight,
                              Duration retryAfter, Duration requestTimeout, Duration keepAlive, String servedName,
                              int workerMaxBatch, int workerMaxQueued, String attentionMode) {

    /** From the {@code magicpig} section (http, the worker sizes admission is derived from, the attention mode). */
    public static GatewaySettings from(Config mp) {
        Config h = mp.getConfig("http");
        Config w = mp.getConfig("worker");
        GatewaySettings s = new GatewaySettings(h.getString("host"), h.getInt("port"), List.copyOf(h.getStringList("api-keys")),
                h.getBytes("max-body"), h.getInt("max-in-flight"), h.getDuration("retry-after"), h.getDuration("request-timeout"),
                h.getDuration("keep-alive"), h.getString("served-model-name"), w.getInt("max-batch"), w.getInt("max-queued"),
                mp.getString("attention.mode"));
        if (s.port < 0 || s.port > 65535) throw new IllegalArgumentException("magicpig.http.port must be 0..65535, got " + s.port);
        if (s.maxBodyBytes < 1024) throw new IllegalArgumentException("magicpig.http.max-body must be at least 1KiB");
        if (s.maxInFlight < 0) throw new IllegalArgumentException("magicpig.http.max-in-flight must be >= 0 (0 = derived)");
        for (String k : s.apiKeys) if (k.isBlank()) throw new IllegalArgumentException("magicpig.http.api-keys has an empty key");
        return s;
    }
}
