package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.runnel.partition.PartitionOwner;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.DescribeLogDirsRequestData;
import org.apache.kafka.common.message.DescribeLogDirsRequestData.DescribableLogDirTopic;
import org.apache.kafka.common.message.DescribeLogDirsResponseData;
import org.apache.kafka.common.message.DescribeLogDirsResponseData.DescribeLogDirsResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** DescribeLogDirs tells the truth about each log directory, an offline one included (KAFKA_STORAGE_ERROR). */
@Timeout(30)
class DescribeLogDirsHandlerTest {

    @TempDir
    Path dir;
    AdminFixture fx;
    DescribeLogDirsHandler handler;
    Path a;
    Path b;

    @BeforeEach
    void setUp() {
        a = dir.resolve("a").toAbsolutePath();
        b = dir.resolve("b").toAbsolutePath();
        fx = new AdminFixture(dir, Map.of("log.dirs", a + "," + b));
        handler = new DescribeLogDirsHandler(fx.vertx, fx.partitions);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private DescribeLogDirsResponseData describe(DescribeLogDirsRequestData request) {
        return await(handler.handle(fx.ctx(ApiKeys.DESCRIBE_LOG_DIRS, ApiKeys.DESCRIBE_LOG_DIRS.latestVersion()), request));
    }

    private static DescribeLogDirsResult result(DescribeLogDirsResponseData r, Path logDir) {
        return r.results().stream().filter(x -> x.logDir().equals(logDir.toString())).findFirst().orElseThrow();
    }

    private static List<Integer> partitionsOf(DescribeLogDirsResult r, String topic) {
        return r.topics().stream().filter(t -> t.name().equals(topic)).flatMap(t -> t.partitions().stream())
                .map(DescribeLogDirsResponseData.DescribeLogDirsPartition::partitionIndex).toList();
    }

    @Test
    void everyDirectoryIsListedWithItsPartitionsAndAnOfflineOneAnswersStorageError() throws Exception {
        fx.topic("t", 2, Map.of());
        PartitionOwner p0 = fx.partitions.get(new TopicPartition("t", 0));
        Path p0Dir = p0.log().dir().getParent();
        Path other = p0Dir.equals(a) ? b : a;

        DescribeLogDirsResponseData all = describe(new DescribeLogDirsRequestData().setTopics(null));
        assertThat(all.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(all.results()).extracting(DescribeLogDirsResult::logDir).containsExactly(a.toString(), b.toString());
        assertThat(partitionsOf(result(all, p0Dir), "t")).containsExactly(0);
        assertThat(partitionsOf(result(all, other), "t")).containsExactly(1);
        for (DescribeLogDirsResult r : all.results()) {
            assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(r.totalBytes()).isPositive();
            assertThat(r.usableBytes()).isPositive().isLessThanOrEqualTo(r.totalBytes());
        }

        DescribeLogDirsRequestData one = new DescribeLogDirsRequestData();
        one.topics().add(new DescribableLogDirTopic().setTopic("t").setPartitions(List.of(1)));
        DescribeLogDirsResponseData filtered = describe(one);
        assertThat(partitionsOf(result(filtered, p0Dir), "t")).isEmpty();
        assertThat(partitionsOf(result(filtered, other), "t")).containsExactly(1);

        await(fx.partitions.handleLogDirFailure(other));
        DescribeLogDirsResponseData after = describe(new DescribeLogDirsRequestData().setTopics(null));
        DescribeLogDirsResult offline = result(after, other);
        assertThat(offline.errorCode()).isEqualTo(Errors.KAFKA_STORAGE_ERROR.code());
        assertThat(offline.topics()).isEmpty();
        assertThat(offline.totalBytes()).isEqualTo(DescribeLogDirsHandler.UNKNOWN_VOLUME_BYTES);
        assertThat(offline.usableBytes()).isEqualTo(DescribeLogDirsHandler.UNKNOWN_VOLUME_BYTES);
        assertThat(result(after, p0Dir).errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(partitionsOf(result(after, p0Dir), "t")).containsExactly(0);
        assertThat(fx.partitions.notHostedError(new TopicPartition("t", 1))).isEqualTo(Errors.KAFKA_STORAGE_ERROR);
    }
}
