package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.connect.cli.ConnectDistributed;
import org.apache.kafka.connect.runtime.Connect;
import org.apache.kafka.connect.runtime.distributed.DistributedHerder;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorInfo;
import org.apache.kafka.connect.util.FutureCallback;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.runnel.it.connect.LineFileSink;
import io.runnel.it.connect.LineFileSource;

/**
 * A Kafka Connect worker in distributed mode against Runnel: its config, offset and status topics are
 * compacted (Connect refuses to start otherwise), a file source and a file sink connector copy lines
 * through a topic, the worker is stopped and a new one started on the same topics halfway, and the
 * sink file ends with every line exactly once, in order: the source resumed from the offset the worker
 * stored in the compacted offsets topic, the sink from the group's committed offset.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConnectDistributedIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create()
            .withProperty("log.cleaner.backoff.ms", "100");

    @TempDir
    Path tmp;

    private Connect<DistributedHerder> startWorker(String group) {
        Map<String, String> p = new HashMap<>();
        p.put("bootstrap.servers", node.bootstrapServers());
        p.put("group.id", group);
        p.put("config.storage.topic", group + "-configs");
        p.put("offset.storage.topic", group + "-offsets");
        p.put("status.storage.topic", group + "-status");
        p.put("config.storage.replication.factor", "1");
        p.put("offset.storage.replication.factor", "1");
        p.put("status.storage.replication.factor", "1");
        p.put("offset.storage.partitions", "5");
        p.put("status.storage.partitions", "2");
        p.put("offset.flush.interval.ms", "500");
        p.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
        p.put("value.converter", "org.apache.kafka.connect.storage.StringConverter");
        p.put("listeners", "http://127.0.0.1:0");
        p.put("plugin.discovery", "service_load");
        p.put("scheduled.rebalance.max.delay.ms", "0");
        return new ConnectDistributed().startConnect(p);
    }

    private static void putConnector(Connect<DistributedHerder> worker, String name, Map<String, String> config)
            throws Exception {
        FutureCallback<org.apache.kafka.connect.runtime.Herder.Created<ConnectorInfo>> cb = new FutureCallback<>();
        Map<String, String> withName = new HashMap<>(config);
        withName.put("name", name);
        worker.herder().putConnectorConfig(name, withName, true, cb);
        cb.get(60, TimeUnit.SECONDS);
    }

    private static void appendLines(Path file, int from, int to) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < to; i++) {
            sb.append("line-").append(i).append('\n');
        }
        Files.writeString(file, sb, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private static List<String> lines(Path file) throws Exception {
        return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
    }

    @Test
    void fileSourceAndSinkCarryOnAfterAWorkerRestartWithNoLineTwice() throws Exception {
        String group = RunnelNode.uniqueName("connect");
        String topic = RunnelNode.uniqueName("connect-lines");
        node.createTopic(topic, 1);
        Path input = tmp.resolve("input.txt");
        Path output = tmp.resolve("output.txt");
        int half = 5_000;
        appendLines(input, 0, half);

        Connect<DistributedHerder> worker = startWorker(group);
        try {
            putConnector(worker, "source", Map.of("connector.class", LineFileSource.class.getName(), "tasks.max", "1",
                    "file", input.toString(), "topic", topic));
            putConnector(worker, "sink", Map.of("connector.class", LineFileSink.class.getName(), "tasks.max", "1",
                    "file", output.toString(), "topics", topic));
            Await.until("the first half reaches the sink file", Duration.ofSeconds(60),
                    () -> lines(output).size() >= half);
        } finally {
            worker.stop();
            worker.awaitStop();
        }

        for (String internal : List.of(group + "-configs", group + "-offsets", group + "-status")) {
            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, internal);
            ConfigEntry policy = node.admin().describeConfigs(List.of(res)).all().get(30, TimeUnit.SECONDS).get(res)
                    .get(TopicConfig.CLEANUP_POLICY_CONFIG);
            assertThat(policy.value()).as(internal).isEqualTo(TopicConfig.CLEANUP_POLICY_COMPACT);
        }

        appendLines(input, half, 2 * half);
        Connect<DistributedHerder> restarted = startWorker(group);
        try {
            Await.until("the second half reaches the sink file", Duration.ofSeconds(60),
                    () -> lines(output).size() >= 2 * half);
            Thread.sleep(1000); // anything sent twice would arrive now
        } finally {
            restarted.stop();
            restarted.awaitStop();
        }
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 2 * half; i++) {
            expected.add("line-" + i);
        }
        assertThat(lines(output)).isEqualTo(expected);
    }
}
