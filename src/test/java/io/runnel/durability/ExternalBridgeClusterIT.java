package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import io.runnel.bridge.BridgeFrames;
import io.runnel.testutil.Ports;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.TopicPartitionInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The external TCP bridge across a three-broker cluster: a raw-socket client of broker 1's bridge subscribes to
 * and produces into a six-partition topic whose leaders are spread over the three brokers (produce routed to
 * each partition's leader, the subscription to the group coordinator, wherever they are), and receives every
 * record it was acknowledged for, each acknowledged in turn.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ExternalBridgeClusterIT {

    private static final String TOKEN = "cluster-bridge-token-0123456789";
    private static final int RECORDS = 240;

    @TempDir
    Path dir;

    @Test
    void aClientOfOneBrokersTcpBridgeProducesAndReceivesEveryRecordOfPartitionsLedEverywhere() throws Exception {
        int bridgePort = Ports.free();
        try (ProcessCluster cluster = new ProcessCluster(dir, Map.of("bridge.enabled", "true",
                "bridge.auth.token", TOKEN, "default.replication.factor", "3", "min.insync.replicas", "2"))) {
            cluster.override(1, Map.of("bridge.tcp.listener", "127.0.0.1:" + bridgePort));
            cluster.startAll();
            String topic = "ext-bridge";
            Set<Integer> leaders = new HashSet<>();
            try (Admin admin = admin(cluster)) {
                ProcessCluster.createReplicatedTopic(admin, topic, 6);
                ProcessCluster.await("leaders of all six partitions", Duration.ofSeconds(60), () -> {
                    var d = ProcessCluster.describe(admin, topic);
                    return d != null && d.partitions().stream().allMatch(p -> p.leader() != null && p.leader().id() > 0);
                });
                for (TopicPartitionInfo p : ProcessCluster.describe(admin, topic).partitions()) {
                    leaders.add(p.leader().id());
                }
            }
            assertThat(leaders).as("leaders spread over the brokers").hasSizeGreaterThanOrEqualTo(2);
            ProcessCluster.await("broker 1's TCP bridge", Duration.ofSeconds(60), () -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", bridgePort), 200);
                    return true;
                } catch (java.io.IOException e) {
                    return false;
                }
            });

            String auth = "Bearer " + TOKEN;
            JsonObject headers = new JsonObject().put("authorization", auth);
            String inbox = "runnel.client.cluster-" + Long.toHexString(System.nanoTime());
            try (BridgeFrames c = new BridgeFrames(new Socket("127.0.0.1", bridgePort))) {
                c.register(inbox, auth);
                JsonObject sub = c.request("runnel.subscribe", new JsonObject().put("group", "ext-bridge-g")
                        .put("topics", new JsonArray().add(topic)).put("address", inbox).put("encoding", "text")
                        .put("autoOffsetReset", "earliest").put("credits", 50), headers);
                assertThat(sub.getString("type")).as(sub.encode()).isEqualTo("message");

                // produce: arrays of 12 records, two per partition, each answered with its offset (acks=all)
                Map<String, Integer> acked = new HashMap<>();
                for (int i = 0; i < RECORDS; i += 12) {
                    JsonArray batch = new JsonArray();
                    for (int k = i; k < i + 12; k++) {
                        batch.add(new JsonObject().put("partition", k % 6).put("value", "v" + k)
                                .put("valueEncoding", "text"));
                    }
                    JsonObject r = c.request("runnel.produce", batch, headers.copy().put("topic", topic));
                    assertThat(r.getString("type")).as(r.encode()).isEqualTo("message");
                    JsonArray results = r.getJsonObject("body").getJsonArray("results");
                    for (int k = 0; k < 12; k++) {
                        JsonObject res = results.getJsonObject(k);
                        assertThat(res.containsKey("errorCode")).as(res.encode()).isFalse();
                        assertThat(res.getInteger("partition")).isEqualTo((i + k) % 6);
                        acked.put("v" + (i + k), res.getInteger("partition"));
                    }
                }
                assertThat(acked).hasSize(RECORDS);

                // every acknowledged record arrives (at least once), each delivery acknowledged
                Map<String, Integer> received = new HashMap<>();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (received.size() < RECORDS && System.nanoTime() < deadline) {
                    JsonObject f = c.read();
                    assertThat(f.getString("type")).as(f.encode()).isNotEqualTo("err");
                    if (!inbox.equals(f.getString("address"))) {
                        continue;
                    }
                    JsonObject body = f.getJsonObject("body");
                    received.put(body.getString("value"), body.getInteger("partition"));
                    c.ack(f, auth);
                }
                assertThat(received).isEqualTo(acked);
                assertThat(new HashSet<>(received.values())).hasSize(6);
            }
        }
    }

    private static Admin admin(ProcessCluster cluster) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        return Admin.create(p);
    }
}
