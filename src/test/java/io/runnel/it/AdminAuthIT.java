package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** With admin.auth.token set, the API, /ready, /metrics and /openapi.json need the bearer token. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminAuthIT {

    private static final String TOKEN = "s3cret-token";

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create().withProperty("admin.auth.token", TOKEN);

    @Test
    void everyDataRequestNeedsTheBearerToken() throws Exception {
        int port = node.broker().adminPort();
        AdminHttp anonymous = new AdminHttp(port, null);
        AdminHttp wrong = new AdminHttp(port, "nope");
        AdminHttp right = new AdminHttp(port, TOKEN);
        for (String path : new String[] {"/api/v1/cluster", "/api/v1/topics", "/api/v1/groups", "/metrics", "/ready",
                "/openapi.json", "/api/v1/topics/x/tail"}) {
            AdminHttp.Response r = anonymous.get(path);
            assertThat(r.status()).as(path).isEqualTo(401);
            assertThat(r.json().getString("error")).isEqualTo("unauthorized");
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
            assertThat(wrong.get(path).status()).as(path).isEqualTo(401);
        }
        assertThat(anonymous.post("/api/v1/topics", Map.of("name", "t")).status()).isEqualTo(401);
        assertThat(node.admin().listTopics().names().get()).doesNotContain("t");

        assertThat(right.get("/api/v1/cluster").status()).isEqualTo(200);
        assertThat(right.get("/metrics").status()).isEqualTo(200);
        assertThat(right.get("/openapi.json").status()).isEqualTo(200);
        String topic = RunnelNode.uniqueName("auth");
        assertThat(right.post("/api/v1/topics", Map.of("name", topic)).status()).isEqualTo(201);
        // the live tail also takes the token as a query parameter (EventSource cannot send headers)
        assertThat(anonymous.get("/api/v1/topics/" + topic + "/tail?access_token=nope").status()).isEqualTo(401);
        // the data-free parts stay open: liveness and the console's static files, which ask for the token
        assertThat(anonymous.get("/health").status()).isEqualTo(200);
        assertThat(anonymous.get("/").status()).isEqualTo(200);
        assertThat(anonymous.get("/app.js").status()).isEqualTo(200);
    }
}
