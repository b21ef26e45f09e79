package io.runnel.partition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.runnel.config.BrokerConfig;
import io.runnel.log.LogBatch;
import io.runnel.log.RecordSet;
import io.runnel.server.ShardVerticle;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.KafkaStorageException;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real I/O error in one log (its partition directory removed underneath it, so the next roll cannot
 * create its files) takes that whole log directory offline, as Kafka's JBOD: every partition in it stops
 * being hosted and answers KAFKA_STORAGE_ERROR, the listener learns which replicas were there, and the
 * partitions of the other directory, and new ones, carry on there.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LogDirFailureTest {

    @TempDir
    Path dir;
    private final Vertx vertx = Vertx.vertx();
    private PartitionManager partitions;
    private Path good;
    private Path bad;
    private final CompletableFuture<Map.Entry<Path, Map<Uuid, List<Integer>>>> reported = new CompletableFuture<>();

    @BeforeEach
    void start() throws Exception {
        good = dir.resolve("good");
        bad = dir.resolve("bad");
        BrokerConfig config = new BrokerConfig(Map.of(BrokerConfig.LOG_DIRS, good + "," + bad,
                BrokerConfig.NODE_ID, "1"));
        ShardVerticle shard = new ShardVerticle();
        await(vertx.deployVerticle(shard, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER)));
        Context context = shard.ownContext();
        partitions = new PartitionManager(vertx, config, List.of(context), Time.SYSTEM);
        partitions.onLogDirOffline((logDir, replicas) -> reported.complete(Map.entry(logDir, replicas)));
    }

    @AfterEach
    void close() throws Exception {
        await(partitions.closeAll().recover(t -> Future.succeededFuture()));
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static RecordSet batch(String value) {
        return RecordSet.builder().add(LogBatch.NO_TIMESTAMP, null, value.getBytes()).build();
    }

    @Test
    void anIoErrorInOneLogTakesItsWholeDirectoryOfflineAndTheOtherServes() throws Exception {
        Uuid topicId = Uuid.randomUuid();
        Map<String, String> small = Map.of("segment.bytes", "200");
        // the least loaded directory is picked in turn: partitions 0 and 2 in good, 1 and 3 in bad
        PartitionOwner[] owners = new PartitionOwner[4];
        for (int p = 0; p < 4; p++) {
            owners[p] = await(partitions.open(new TopicPartition("t", p), topicId, small));
        }
        List<PartitionOwner> inBad = List.of(owners[0], owners[1], owners[2], owners[3]).stream()
                .filter(o -> o.log().dir().getParent().equals(bad.toAbsolutePath())).toList();
        List<PartitionOwner> inGood = List.of(owners[0], owners[1], owners[2], owners[3]).stream()
                .filter(o -> o.log().dir().getParent().equals(good.toAbsolutePath())).toList();
        assertThat(inBad).hasSize(2);
        assertThat(inGood).hasSize(2);
        PartitionOwner victim = inBad.get(0);
        await(victim.append(batch("before"), (short) 1));
        PartitionMetadata.deleteRecursively(victim.log().dir());

        Throwable failure = null;
        for (int i = 0; i < 20 && failure == null; i++) {
            try {
                await(victim.append(batch("value-" + i), (short) 1));
            } catch (ExecutionException e) {
                failure = e.getCause();
            }
        }
        assertThat(failure).as("a roll into the removed directory fails").isInstanceOf(KafkaStorageException.class);

        Map.Entry<Path, Map<Uuid, List<Integer>>> offline = reported.get(10, TimeUnit.SECONDS);
        assertThat(offline.getKey()).isEqualTo(bad.toAbsolutePath());
        assertThat(offline.getValue().get(topicId)).containsExactlyInAnyOrderElementsOf(
                inBad.stream().map(o -> o.topicPartition().partition()).toList());
        assertThat(partitions.failureChannel().offlineDirs()).containsExactly(bad.toAbsolutePath());
        assertThat(partitions.onlineLogDirs()).containsExactly(good.toAbsolutePath());
        for (PartitionOwner o : inBad) {
            TopicPartition tp = o.topicPartition();
            assertThat(partitions.get(tp)).isNull();
            assertThat(partitions.isOffline(tp)).isTrue();
            assertThat(partitions.notHostedError(tp)).isEqualTo(Errors.KAFKA_STORAGE_ERROR);
            // not reopened elsewhere while this process runs: its data are in the offline directory
            assertThatThrownBy(() -> await(partitions.open(tp, topicId, small)))
                    .hasCauseInstanceOf(KafkaStorageException.class);
        }
        // the other replica of the failed directory was closed too, without a write being tried there
        PartitionOwner sibling = inBad.get(1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!(sibling.isClosed() && sibling.log().isFailed()) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(sibling.isClosed()).isTrue();
        assertThat(sibling.log().isFailed()).isTrue();
        assertThat(Files.exists(sibling.log().dir().resolve("clean-shutdown"))).isFalse();

        for (PartitionOwner o : inGood) {
            assertThat(partitions.get(o.topicPartition())).isSameAs(o);
            assertThat(await(o.append(batch("still served"), (short) 1)).lastOffset()).isZero();
        }
        PartitionOwner fresh = await(partitions.open(new TopicPartition("t", 4), topicId, small));
        assertThat(fresh.log().dir().getParent()).isEqualTo(good.toAbsolutePath());
        assertThat(partitions.notHostedError(new TopicPartition("t", 9))).isEqualTo(Errors.NOT_LEADER_OR_FOLLOWER);
    }
    @Test
    void aLogThatCannotBeOpenedTakesItsDirectoryOfflineWithIt() throws Exception {
        Uuid topicId = Uuid.randomUuid();
        TopicPartition tp = new TopicPartition("t", 0);
        // a segment that is a directory: reading it at recovery is an I/O error
        Files.createDirectories(bad.resolve("t-0").resolve("00000000000000000000.log"));
        assertThatThrownBy(() -> await(partitions.open(tp, topicId, Map.of())))
                .hasCauseInstanceOf(KafkaStorageException.class);
        Map.Entry<Path, Map<Uuid, List<Integer>>> offline = reported.get(10, TimeUnit.SECONDS);
        assertThat(offline.getKey()).isEqualTo(bad.toAbsolutePath());
        assertThat(offline.getValue()).containsExactly(Map.entry(topicId, List.of(0)));
        assertThat(partitions.isOffline(tp)).isTrue();
        assertThat(partitions.get(tp)).isNull();
        assertThat(partitions.onlineLogDirs()).containsExactly(good.toAbsolutePath());
        PartitionOwner other = await(partitions.open(new TopicPartition("t", 1), topicId, Map.of()));
        assertThat(other.log().dir().getParent()).isEqualTo(good.toAbsolutePath());
    }
}
