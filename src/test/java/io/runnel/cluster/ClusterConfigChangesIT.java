package io.runnel.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.testutil.RawKafkaClient;
import io.runnel.testutil.TestCluster;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterConfigsResource;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterableConfig;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterableConfigCollection;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterConfigsResourceCollection;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.DescribeConfigsRequest;
import org.apache.kafka.common.requests.DescribeConfigsResponse;
import org.apache.kafka.common.requests.IncrementalAlterConfigsRequest;
import org.apache.kafka.common.requests.IncrementalAlterConfigsResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two clustered nodes in one JVM: IncrementalAlterConfigs of different keys of one topic, sent at the
 * same moment through different brokers, all survive (each broker computes its change from its own,
 * possibly stale, copy of the topic; the controller applies it only over the overrides it was computed
 * from).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ClusterConfigChangesIT {

    private static final String TOPIC = "configured";
    private static final int ROUNDS = 15;

    @TempDir
    Path dir;
    private final List<Broker> brokers = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Broker b : brokers) {
            b.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void concurrentIncrementalChangesThroughDifferentBrokersAllSurvive() throws Exception {
        TestCluster cluster = TestCluster.allocate("configs", 2);
        for (int id = 1; id <= 2; id++) {
            Map<String, String> props = cluster.nodeProps(id);
            props.put("log.dirs", dir.resolve("node" + id).toString());
            props.put("listeners", "PLAINTEXT://127.0.0.1:0");
            props.put("admin.listener", "127.0.0.1:0");
            props.put("offsets.topic.num.partitions", "1");
            props.put("runnel.log.shards", "2");
            brokers.add(Broker.start(props).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS));
        }
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers.get(0).bootstrapServers());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Admin admin = Admin.create(ap);
             RawKafkaClient viaOne = new RawKafkaClient(brokers.get(0).bootstrapServers());
             RawKafkaClient viaTwo = new RawKafkaClient(brokers.get(1).bootstrapServers())) {
            await("two brokers", () -> admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() == 2);
            admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 2))).all().get(30, TimeUnit.SECONDS);
            // Creation returns once the controller has the topic; each broker learns it a moment later.
            await("the topic on broker 1", () -> describes(viaOne));
            await("the topic on broker 2", () -> describes(viaTwo));

            CyclicBarrier together = new CyclicBarrier(2);
            for (int round = 1; round <= ROUNDS; round++) {
                String retention = Long.toString(3_600_000L + round);
                String segment = Long.toString(7_200_000L + round);
                Future<Errors> one = pool.submit(() -> {
                    together.await();
                    return set(viaOne, "retention.ms", retention);
                });
                Future<Errors> two = pool.submit(() -> {
                    together.await();
                    return set(viaTwo, "segment.ms", segment);
                });
                assertThat(one.get(30, TimeUnit.SECONDS)).isEqualTo(Errors.NONE);
                assertThat(two.get(30, TimeUnit.SECONDS)).isEqualTo(Errors.NONE);
                int r = round;
                await("both changes of round " + r, () -> {
                    Map<String, String> c = configs(admin);
                    return retention.equals(c.get("retention.ms")) && segment.equals(c.get("segment.ms"));
                });
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static Errors set(RawKafkaClient client, String key, String value) throws Exception {
        AlterableConfigCollection configs = new AlterableConfigCollection();
        configs.add(new AlterableConfig().setName(key).setValue(value).setConfigOperation((byte) 0));
        AlterConfigsResourceCollection resources = new AlterConfigsResourceCollection();
        resources.add(new AlterConfigsResource().setResourceType(ConfigResource.Type.TOPIC.id())
                .setResourceName(TOPIC).setConfigs(configs));
        IncrementalAlterConfigsResponse response = client.send(new IncrementalAlterConfigsRequest.Builder(
                new IncrementalAlterConfigsRequestData().setResources(resources)).build());
        return Errors.forCode(response.data().responses().get(0).errorCode());
    }

    private static boolean describes(RawKafkaClient client) throws Exception {
        DescribeConfigsResponse response = client.send(new DescribeConfigsRequest.Builder(new DescribeConfigsRequestData()
                .setResources(List.of(new DescribeConfigsRequestData.DescribeConfigsResource()
                        .setResourceType(ConfigResource.Type.TOPIC.id()).setResourceName(TOPIC)))).build());
        return response.data().results().get(0).errorCode() == Errors.NONE.code();
    }

    private static Map<String, String> configs(Admin admin) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, TOPIC);
        Config c = admin.describeConfigs(List.of(r)).all().get(10, TimeUnit.SECONDS).get(r);
        Map<String, String> m = new HashMap<>();
        c.entries().forEach(e -> m.put(e.name(), e.value()));
        return m;
    }

    private interface Check {
        boolean holds() throws Exception;
    }

    private static void await(String what, Check check) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                if (check.holds()) {
                    return;
                }
            } catch (Exception e) {
                // not there yet
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(100);
        }
    }
}
