package magicpig.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import magicpig.cluster.ClusterNode;
import org.junit.jupiter.api.Test;

/** /ready and generation answer 503 until the cluster can serve; /health answers regardless. */
class GatewayReadinessTest {

    static void assertNotReady(ClusterNode node, String why) throws Exception {
        HttpTestClient api = new HttpTestClient(node.httpPort(), null);
        assertEquals(200, api.get("/health").status());
        HttpTestClient.Answer ready = api.get("/ready");
        assertEquals(503, ready.status(), ready.body());
        assertEquals("not_ready", ready.json().get("error").get("code").asText());
        assertTrue(ready.json().get("error").get("message").asText().contains(why), ready.body());
        HttpTestClient.Answer gen = api.post("/v1/completions", "{\"model\":\"synthetic:tiny\",\"prompt\":\"x\",\"max_tokens\":2}");
        assertEquals(503, gen.status(), gen.body());
        assertEquals(0, node.gateway().inFlight());
    }

    @Test
    void aGatewayWithoutWorkersIsNotReady() throws Exception {
        try (ClusterNode node = ClusterNode.start(ConfigFactory.parseString("""
                pekko.remote.artery.canonical.port = 0
                magicpig.roles = [gateway]
                magicpig.http.port = 0
                """))) {
            assertNotReady(node, "no transformer worker");
        }
    }

    @Test
    void sampledAttentionNeedsAnAttentionHost() throws Exception {
        try (ClusterNode node = ClusterNode.start(ConfigFactory.parseString("""
                pekko.remote.artery.canonical.port = 0
                magicpig.roles = [gateway, gpu-worker]
                magicpig.attention.mode = magicpig
                magicpig.http.port = 0
                """))) {
            GatewayTestSupport.awaitReady(node);
            assertNotReady(node, "cpu-attention");
        }
    }
}
