package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.HostResolver;
import io.runnel.cluster.TopicInfo;
import io.runnel.log.LogBatch;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.runnel.metadata.MetadataView;
import io.runnel.metrics.BrokerMetrics;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Incremental fetch sessions (KIP-227) as a consumer uses them: a full fetch with epoch 0 opens one, the next
 * fetches name only what changed and hear only what is new, epoch -1 closes it, and a wrong epoch or an unknown
 * id gets Kafka's error. Topic "s" has three partitions on this node, each holding one record.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FetchSessionsTest {

    @TempDir
    Path dir;
    AdminFixture fx;
    FetchHandler handler;
    TopicInfo topic;
    final List<PartitionOwner> owners = new ArrayList<>();

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir);
        handler = handler(FetchHandler.DEFAULT_SESSION_SLOTS);
        topic = fx.topic("s", 3, Map.of());
        for (int p = 0; p < 3; p++) {
            owners.add(fx.partitions.get(new TopicPartition("s", p)));
            append(p, "first-" + p);
        }
    }

    private FetchHandler handler(int slots) {
        return new FetchHandler(fx.vertx, fx.topics, fx.partitions, new ReplicaFetchGuard(new MetadataView(fx.quorum),
                new HostResolver(fx.vertx, Time.SYSTEM, HostResolver.DEFAULT_TTL_MS), Time.SYSTEM),
                BrokerMetrics.noop(), slots);
    }

    @AfterEach
    void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    private void append(int partition, String value) {
        await(owners.get(partition).append(RecordSet.of(new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, null,
                value.getBytes(StandardCharsets.UTF_8))), (short) 1));
    }

    /** A fetch (v{@code version}) of {@code offsets} (partition to fetch offset) in the given session and epoch. */
    private FetchResponseData fetch(FetchHandler h, int version, int sessionId, int epoch, Map<Integer, Long> offsets,
                                    List<Integer> forgotten) {
        FetchRequestData req = new FetchRequestData().setMaxWaitMs(0).setMinBytes(0).setMaxBytes(1 << 20)
                .setSessionId(sessionId).setSessionEpoch(epoch).setReplicaId(-1)
                .setReplicaState(new FetchRequestData.ReplicaState().setReplicaId(-1).setReplicaEpoch(-1));
        if (!offsets.isEmpty()) {
            FetchRequestData.FetchTopic ft = new FetchRequestData.FetchTopic().setTopic(version >= 13 ? "" : "s")
                    .setTopicId(version >= 13 ? topic.id() : org.apache.kafka.common.Uuid.ZERO_UUID);
            offsets.forEach((p, offset) -> ft.partitions().add(new FetchRequestData.FetchPartition().setPartition(p)
                    .setFetchOffset(offset).setPartitionMaxBytes(1 << 20).setCurrentLeaderEpoch(-1).setLogStartOffset(-1)));
            req.topics().add(ft);
        }
        if (!forgotten.isEmpty()) {
            req.forgottenTopicsData().add(new FetchRequestData.ForgottenTopic().setTopic(version >= 13 ? "" : "s")
                    .setTopicId(version >= 13 ? topic.id() : org.apache.kafka.common.Uuid.ZERO_UUID)
                    .setPartitions(new ArrayList<>(forgotten)));
        }
        return await(fx.onEventLoop(() -> h.handle(fx.ctx(ApiKeys.FETCH, version), req)));
    }

    private FetchResponseData fetch(int version, int sessionId, int epoch, Map<Integer, Long> offsets) {
        return fetch(handler, version, sessionId, epoch, offsets, List.of());
    }

    private static Map<Integer, Long> offsets(long... partitionOffsetPairs) {
        Map<Integer, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < partitionOffsetPairs.length; i += 2) {
            m.put((int) partitionOffsetPairs[i], partitionOffsetPairs[i + 1]);
        }
        return m;
    }

    /** Partition to the values it answered, for the partitions the answer holds. */
    private static Map<Integer, List<String>> answered(FetchResponseData resp) {
        Map<Integer, List<String>> out = new LinkedHashMap<>();
        for (FetchResponseData.FetchableTopicResponse tr : resp.responses()) {
            for (FetchResponseData.PartitionData pd : tr.partitions()) {
                assertThat(Errors.forCode(pd.errorCode())).isEqualTo(Errors.NONE);
                List<String> values = new ArrayList<>();
                for (LogBatch b : WireRecords.copyAndRelease(pd.records()).batches()) {
                    for (LogRecord r : b) {
                        values.add(StandardCharsets.UTF_8.decode(r.value()).toString());
                    }
                }
                out.put(pd.partitionIndex(), values);
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {12, 16})
    void aSessionAnswersOnlyWhatChangedAndTakesOnlyWhatTheClientChanged(int version) {
        FetchResponseData full = fetch(version, 0, 0, offsets(0, 0, 1, 0, 2, 0));
        int id = full.sessionId();
        assertThat(id).as("a session was created").isNotZero();
        assertThat(answered(full)).containsOnlyKeys(0, 1, 2);

        // the client names the partitions whose position moved; nothing is new anywhere
        FetchResponseData quiet = fetch(version, id, 1, offsets(0, 1, 1, 1, 2, 1));
        assertThat(Errors.forCode(quiet.errorCode())).isEqualTo(Errors.NONE);
        assertThat(quiet.sessionId()).isEqualTo(id);
        assertThat(quiet.responses()).as("nothing changed: nothing to tell").isEmpty();

        // one record on partition 1: an empty incremental fetch hears of partition 1 alone, with its record
        append(1, "second-1");
        FetchResponseData one = fetch(version, id, 2, offsets());
        assertThat(answered(one)).containsExactly(Map.entry(1, List.of("second-1")));

        // partition 2 forgotten: new data there is not read; partition 0's is
        append(0, "second-0");
        append(2, "second-2");
        FetchResponseData forgot = fetch(handler, version, id, 3, offsets(1, 2), List.of(2));
        assertThat(answered(forgot)).containsExactly(Map.entry(0, List.of("second-0")));
        assertThat(handler.sessions().get(id).partitions).hasSize(2);

        // a partition that returned records went to the end of the session's order (fairness under max_bytes)
        assertThat(handler.sessions().get(id).partitions.keySet()).extracting(FetchSessions.Key::partition)
                .containsExactly(1, 0);
    }

    @Test
    void aWrongEpochOrAnUnknownSessionGetsKafkasErrorsAndEpochMinusOneClosesIt() {
        int id = fetch(16, 0, 0, offsets(0, 0)).sessionId();
        assertThat(id).isNotZero();

        FetchResponseData stale = fetch(16, id, 5, offsets());
        assertThat(Errors.forCode(stale.errorCode())).isEqualTo(Errors.INVALID_FETCH_SESSION_EPOCH);
        assertThat(stale.responses()).isEmpty();
        FetchResponseData unknown = fetch(16, id + 1, 1, offsets());
        assertThat(Errors.forCode(unknown.errorCode())).isEqualTo(Errors.FETCH_SESSION_ID_NOT_FOUND);
        // a session made with topic ids does not go on by names
        FetchResponseData byName = fetch(12, id, 1, offsets());
        assertThat(Errors.forCode(byName.errorCode())).isEqualTo(Errors.FETCH_SESSION_TOPIC_ID_ERROR);
        // the right epoch still works after the refusals
        assertThat(Errors.forCode(fetch(16, id, 1, offsets()).errorCode())).isEqualTo(Errors.NONE);

        // epoch -1: a full sessionless fetch, and the session is gone
        FetchResponseData closing = fetch(16, id, -1, offsets(0, 0));
        assertThat(closing.sessionId()).isZero();
        assertThat(answered(closing)).containsExactly(Map.entry(0, List.of("first-0")));
        assertThat(Errors.forCode(fetch(16, id, 2, offsets()).errorCode())).isEqualTo(Errors.FETCH_SESSION_ID_NOT_FOUND);
        assertThat(handler.sessions().size()).isZero();
    }

    @Test
    void epochZeroReplacesTheSessionItNamesAndAFullCacheCreatesNone() {
        FetchHandler one = handler(1);
        int first = fetch(one, 16, 0, 0, offsets(0, 0), List.of()).sessionId();
        assertThat(first).isNotZero();
        int second = fetch(one, 16, first, 0, offsets(1, 0), List.of()).sessionId();
        assertThat(second).as("the old session gave its slot").isNotZero().isNotEqualTo(first);
        assertThat(one.sessions().size()).isEqualTo(1);

        // another consumer while the only slot is held by a fresh session: full fetches without a session
        FetchResponseData other = fetch(one, 16, 0, 0, offsets(2, 0), List.of());
        assertThat(other.sessionId()).isZero();
        assertThat(answered(other)).containsExactly(Map.entry(2, List.of("first-2")));
        assertThat(one.sessions().evictions()).isZero();
    }
}
