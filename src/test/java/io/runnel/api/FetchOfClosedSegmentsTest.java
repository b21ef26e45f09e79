package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.HostResolver;
import io.runnel.cluster.TopicInfo;
import io.runnel.log.LogBatch;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.runnel.log.SegmentChannels;
import io.runnel.metadata.MetadataView;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.WireRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A consumer's Fetch of segments whose files the bounded set of open segment files closed: the handler runs on
 * an event loop, which must not {@code open(2)}, so the read goes to a worker, reopens them there and answers
 * the same records, whether the fetch is answered at once or parked for min_bytes first.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FetchOfClosedSegmentsTest {

    private static final int SEGMENTS = 3 * SegmentChannels.MIN_LIMIT;

    @TempDir
    Path dir;
    AdminFixture fx;
    FetchHandler handler;
    TopicInfo topic;
    PartitionOwner owner;
    int limit;

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir);
        handler = new FetchHandler(fx.vertx, fx.topics, fx.partitions, new ReplicaFetchGuard(new MetadataView(fx.quorum),
                new HostResolver(fx.vertx, Time.SYSTEM, HostResolver.DEFAULT_TTL_MS), Time.SYSTEM));
        topic = fx.topic("old-segments", 1, Map.of());
        owner = fx.partitions.get(new TopicPartition("old-segments", 0));
        for (int i = 0; i < SEGMENTS; i++) {
            append("v" + i);
            await(owner.submit(() -> {
                owner.log().forceRoll();
                return null;
            }));
        }
        limit = SegmentChannels.shared().limit();
        // the process's set, as the broker's own logs use it: down to its smallest bound, the oldest files close
        SegmentChannels.shared().setLimit(SegmentChannels.MIN_LIMIT);
    }

    private void append(String value) {
        await(owner.append(RecordSet.of(new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, null, value.getBytes())),
                (short) 1));
    }

    @AfterEach
    void tearDown() {
        SegmentChannels.shared().setLimit(limit);
        if (fx != null) {
            fx.close();
        }
    }

    private FetchResponseData.PartitionData fetch(long offset, int minBytes, int maxWaitMs) {
        return await(fetchAsync(offset, minBytes, maxWaitMs)).responses().get(0).partitions().get(0);
    }

    private io.vertx.core.Future<FetchResponseData> fetchAsync(long offset, int minBytes, int maxWaitMs) {
        FetchRequestData req = new FetchRequestData().setMaxWaitMs(maxWaitMs).setMinBytes(minBytes)
                .setMaxBytes(1 << 20).setSessionId(0).setSessionEpoch(-1)
                .setReplicaState(new FetchRequestData.ReplicaState().setReplicaId(-1).setReplicaEpoch(-1));
        FetchRequestData.FetchTopic ft = new FetchRequestData.FetchTopic().setTopic("old-segments").setTopicId(topic.id());
        ft.partitions().add(new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(offset)
                .setCurrentLeaderEpoch(-1).setPartitionMaxBytes(1 << 20).setLogStartOffset(-1));
        req.topics().add(ft);
        return fx.onEventLoop(() -> handler.handle(fx.ctx(ApiKeys.FETCH, 16), req));
    }

    private static List<String> values(FetchResponseData.PartitionData pd) {
        List<String> values = new ArrayList<>();
        for (LogBatch batch : WireRecords.copyAndRelease(pd.records()).batches()) {
            for (LogRecord r : batch) {
                values.add(StandardCharsets.UTF_8.decode(r.value()).toString());
            }
        }
        return values;
    }

    @Test
    void aFetchAnsweredAtOnceReadsClosedSegmentsOnAWorker() {
        assertThat(owner.log().numberOfSegments()).isGreaterThan(SegmentChannels.MIN_LIMIT);
        assertThat(SegmentChannels.shared().openFiles()).as("the oldest segments' files closed")
                .isLessThanOrEqualTo(SegmentChannels.MIN_LIMIT);
        long opens = SegmentChannels.shared().opens();

        List<String> read = new ArrayList<>();
        for (long offset = 0; offset < SEGMENTS; offset++) {
            FetchResponseData.PartitionData pd = fetch(offset, 1, 0);
            assertThat(Errors.forCode(pd.errorCode())).isEqualTo(Errors.NONE);
            read.addAll(values(pd));
        }

        List<String> expected = new ArrayList<>();
        for (int i = 0; i < SEGMENTS; i++) {
            expected.add("v" + i);
        }
        assertThat(read).containsExactlyElementsOf(expected);
        assertThat(SegmentChannels.shared().opens()).as("closed files were reopened").isGreaterThan(opens);
        assertThat(SegmentChannels.shared().openFiles()).isLessThanOrEqualTo(SegmentChannels.MIN_LIMIT);
    }

    @Test
    void aFetchParkedForMinBytesAnswersWhatTheWorkersReadFound() {
        assertThat(SegmentChannels.shared().openFiles()).isLessThanOrEqualTo(SegmentChannels.MIN_LIMIT);
        long opens = SegmentChannels.shared().opens();

        FetchResponseData.PartitionData pd = fetch(0, 1 << 20, 300);

        assertThat(Errors.forCode(pd.errorCode())).isEqualTo(Errors.NONE);
        assertThat(values(pd)).containsExactly("v0");
        assertThat(SegmentChannels.shared().opens()).as("the first segment's file was reopened").isGreaterThan(opens);
    }

    @Test
    void aParkedFetchWhoseSegmentIsClosedWhileItWaitsIsAnsweredFromAWorker() throws Exception {
        io.vertx.core.Future<FetchResponseData> parked = fetchAsync(0, 1 << 20, 20_000);
        Thread.sleep(300);
        assertThat(parked.isComplete()).as("waiting for min_bytes").isFalse();
        // reads of every other segment push the first one's file out of the bound again
        for (long offset = 1; offset < SEGMENTS; offset++) {
            owner.log().read(offset, 1 << 20, Long.MAX_VALUE, true).records().release();
        }
        long opens = SegmentChannels.shared().opens();

        // an append wakes the parked fetch: its read on the event loop meets the closed file and goes to a worker,
        // whose read is the answer (min_bytes or not), long before max_wait_ms
        long start = System.nanoTime();
        append("late");
        FetchResponseData.PartitionData pd = await(parked).responses().get(0).partitions().get(0);

        assertThat(Errors.forCode(pd.errorCode())).isEqualTo(Errors.NONE);
        assertThat(values(pd)).containsExactly("v0");
        assertThat(SegmentChannels.shared().opens()).as("the first segment's file was reopened").isGreaterThan(opens);
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(10));
    }
}
