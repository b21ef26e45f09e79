package io.runnel.txn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.ClusterView;
import io.runnel.cluster.LeadersOnly;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData.WritableTxnMarkerPartitionResult;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData.WritableTxnMarkerResult;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData.WritableTxnMarkerTopicResult;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Markers go to each partition's current leader, batched per broker, retried until written or not needed. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TransactionMarkerSenderTest {

    private static final TopicPartition A0 = new TopicPartition("a", 0);
    private static final TopicPartition A1 = new TopicPartition("a", 1);
    private static final TopicPartition B0 = new TopicPartition("b", 0);

    private final Vertx vertx = Vertx.vertx();
    private final Map<TopicPartition, Integer> leaders = new ConcurrentHashMap<>();
    private final Set<String> topics = ConcurrentHashMap.newKeySet();
    /** broker -> requests it got */
    private final List<Map.Entry<Integer, WriteTxnMarkersRequestData>> sent = new CopyOnWriteArrayList<>();
    /** the error each partition answers (NONE when absent), taken once */
    private final Map<TopicPartition, Errors> nextError = new ConcurrentHashMap<>();

    private final ClusterView cluster = new LeadersOnly(1, leaders::get);

    private TransactionMarkerSender sender() {
        return new TransactionMarkerSender(vertx, (broker, key, version, request) -> {
            WriteTxnMarkersRequestData r = (WriteTxnMarkersRequestData) request;
            sent.add(Map.entry(broker, r));
            WriteTxnMarkersResponseData out = new WriteTxnMarkersResponseData();
            for (WriteTxnMarkersRequestData.WritableTxnMarker m : r.markers()) {
                WritableTxnMarkerResult mr = new WritableTxnMarkerResult().setProducerId(m.producerId());
                for (WriteTxnMarkersRequestData.WritableTxnMarkerTopic t : m.topics()) {
                    WritableTxnMarkerTopicResult tr = new WritableTxnMarkerTopicResult().setName(t.name());
                    for (int p : t.partitionIndexes()) {
                        Errors e = nextError.remove(new TopicPartition(t.name(), p));
                        tr.partitions().add(new WritableTxnMarkerPartitionResult().setPartitionIndex(p)
                                .setErrorCode((e == null ? Errors.NONE : e).code()));
                    }
                    mr.topics().add(tr);
                }
                out.markers().add(mr);
            }
            return Future.succeededFuture(out);
        }, cluster, topics::contains, () -> 2);
    }

    @AfterEach
    void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static void await(Future<?> f) throws Exception {
        f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void batchesPerLeaderRetriesUntilWrittenAndSkipsDeletedTopics() throws Exception {
        topics.addAll(Set.of("a", "b"));
        leaders.put(A0, 1);
        leaders.put(A1, 2);
        leaders.put(B0, 1);
        nextError.put(A1, Errors.NOT_LEADER_OR_FOLLOWER);
        TransactionMarkerSender s = sender();
        await(s.write(new MarkerJob("t", 0, 7, (short) 3, true, 4, (short) 2, Set.of(A0, A1, B0))));
        // broker 1 got A0 and B0 in one request, broker 2 got A1 twice (the first refused)
        assertThat(sent.stream().filter(e -> e.getKey() == 1).count()).isEqualTo(1);
        WriteTxnMarkersRequestData.WritableTxnMarker m = sent.stream().filter(e -> e.getKey() == 1).findFirst()
                .orElseThrow().getValue().markers().get(0);
        assertThat(m.producerId()).isEqualTo(7);
        assertThat(m.producerEpoch()).isEqualTo((short) 3);
        assertThat(m.coordinatorEpoch()).isEqualTo(4);
        assertThat(m.transactionResult()).isTrue();
        assertThat(m.transactionVersion()).isEqualTo((byte) 2);
        assertThat(m.topics()).hasSize(2);
        assertThat(sent.stream().filter(e -> e.getKey() == 2).count()).isEqualTo(2);

        // a partition without a leader waits; a deleted topic needs no marker
        sent.clear();
        leaders.remove(A0);
        Future<Void> waiting = s.write(new MarkerJob("u", 0, 8, (short) 0, false, 4, (short) 0, Set.of(A0, B0)));
        Thread.sleep(300);
        assertThat(waiting.isComplete()).isFalse();
        topics.remove("a");
        await(waiting);
        assertThat(sent).allSatisfy(e -> assertThat(e.getValue().markers().get(0).topics())
                .extracting(WriteTxnMarkersRequestData.WritableTxnMarkerTopic::name).containsOnly("b"));
    }

    @Test
    void aFencedMarkerDropsTheJobAndCancelDropsAPartitionsJobs() throws Exception {
        topics.add("a");
        leaders.put(A0, 1);
        nextError.put(A0, Errors.TRANSACTION_COORDINATOR_FENCED);
        TransactionMarkerSender s = sender();
        Future<Void> fenced = s.write(new MarkerJob("t", 0, 7, (short) 3, true, 4, (short) 0, Set.of(A0)));
        fenced.toCompletionStage().toCompletableFuture().handle((v, t) -> null).get(10, TimeUnit.SECONDS);
        assertThat(fenced.failed()).isTrue();

        leaders.remove(A0);
        Future<Void> parked = s.write(new MarkerJob("t", 3, 7, (short) 3, true, 4, (short) 0, Set.of(A0)));
        s.cancel(3);
        parked.toCompletionStage().toCompletableFuture().handle((v, t) -> null).get(10, TimeUnit.SECONDS);
        assertThat(parked.failed()).isTrue();
        assertThat(await2(s.pendingJobs())).isZero();
    }

    private static <T> T await2(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
