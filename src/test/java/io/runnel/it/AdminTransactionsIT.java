package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code /api/v1/transactions}: an open transaction of the official Java producer shows with its partitions, state
 * and start time in the open-transaction list the console shows, and as complete once committed; unknown ids and
 * states are refused.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class AdminTransactionsIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create();

    private static AdminHttp http() {
        return new AdminHttp(node.broker().adminPort(), null);
    }

    private static JsonObject find(JsonArray txns, String id) {
        for (int i = 0; i < txns.size(); i++) {
            if (txns.getJsonObject(i).getString("transactionalId").equals(id)) {
                return txns.getJsonObject(i);
            }
        }
        return null;
    }

    @Test
    void anOpenTransactionIsListedWithItsPartitionsUntilItCommits() throws Exception {
        String topic = RunnelNode.uniqueName("admin-txn");
        String id = topic + "-producer";
        node.createTopic(topic, 3);
        AdminHttp http = http();
        try (KafkaProducer<String, String> producer = node.producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id,
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 45_000))) {
            producer.initTransactions();
            long before = System.currentTimeMillis();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, 0, "k", "v0"));
            producer.send(new ProducerRecord<>(topic, 2, "k", "v2"));
            producer.flush();

            AdminHttp.Response open = http.get("/api/v1/transactions?state=Ongoing,PrepareCommit,PrepareAbort");
            assertThat(open.status()).as(open.body()).isEqualTo(200);
            JsonObject t = find(open.array(), id);
            assertThat(t).as("%s in %s", id, open.body()).isNotNull();
            assertThat(t.getString("state")).isEqualTo("Ongoing");
            assertThat(t.getInteger("timeoutMs")).isEqualTo(45_000);
            assertThat(t.getLong("producerId")).isNotNegative();
            assertThat(t.getLong("startTimeMs")).isBetween(before - 1000, System.currentTimeMillis());
            assertThat(t.getLong("durationMs")).isNotNegative();
            assertThat(t.getJsonArray("partitions").getList()).containsExactlyInAnyOrder(
                    Map.of("topic", topic, "partition", 0), Map.of("topic", topic, "partition", 2));

            AdminHttp.Response one = http.get("/api/v1/transactions/" + id);
            assertThat(one.status()).as(one.body()).isEqualTo(200);
            assertThat(one.json().getString("state")).isEqualTo("Ongoing");

            producer.commitTransaction();
        }
        Await.until("the transaction complete", Duration.ofSeconds(30),
                () -> "CompleteCommit".equals(http.get("/api/v1/transactions/" + id).json().getString("state")));
        assertThat(find(http.get("/api/v1/transactions?state=Ongoing").array(), id)).as("no longer open").isNull();
        assertThat(find(http.get("/api/v1/transactions").array(), id)).as("listed without a filter").isNotNull();
    }

    @Test
    void unknownIdsAndStatesAreRefused() throws Exception {
        AdminHttp http = http();
        AdminHttp.Response missing = http.get("/api/v1/transactions/" + RunnelNode.uniqueName("nobody"));
        assertThat(missing.status()).as(missing.body()).isEqualTo(404);
        AdminHttp.Response bad = http.get("/api/v1/transactions?state=Sleeping");
        assertThat(bad.status()).as(bad.body()).isEqualTo(400);
        assertThat(bad.json().getString("field")).isEqualTo("state");
        assertThat(bad.json().getString("message")).contains("Sleeping");
        assertThat(List.of(http.get("/openapi.json").json().getJsonObject("paths").fieldNames().toArray()))
                .contains("/api/v1/transactions", "/api/v1/transactions/{transactionalId}");
    }
}
