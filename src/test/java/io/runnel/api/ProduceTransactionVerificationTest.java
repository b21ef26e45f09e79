package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import io.runnel.cluster.ClusterView;
import io.runnel.cluster.LeadersOnly;
import io.runnel.log.LogBatch;
import io.runnel.log.RecordSet;
import io.runnel.metrics.BrokerMetrics;
import io.runnel.protocol.ProduceOrder;
import io.runnel.protocol.RequestContext;
import io.runnel.protocol.WireRecords;
import io.runnel.txn.TransactionStateTopic;
import io.runnel.txn.TransactionVerifier;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData.AddPartitionsToTxnTransaction;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData.AddPartitionsToTxnPartitionResult;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData.AddPartitionsToTxnResult;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData.AddPartitionsToTxnTopicResult;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A transactional produce request is verified with the transaction coordinator as Kafka's ReplicaManager does it:
 * one AddPartitionsToTxn for all the request's partitions where the transaction is not open yet, then each
 * partition appended (or failed) with its own answer.
 */
@Timeout(60)
class ProduceTransactionVerificationTest {

    private static final String TXN_ID = "txn-1";
    private static final long PID = 77L;
    private static final int COORDINATOR = 9;

    @TempDir
    Path dir;
    AdminFixture fx;
    ProduceHandler handler;
    final List<AddPartitionsToTxnTransaction> sent = new CopyOnWriteArrayList<>();
    /** The coordinator's answer per partition; NONE when absent. */
    final Map<TopicPartition, Errors> answers = new ConcurrentHashMap<>();

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir);
        fx.topic("a", 2, Map.of());
        fx.topic("b", 1, Map.of());
        TransactionVerifier verifier = new TransactionVerifier(this::coordinator, coordinatorOnly(),
                id -> 0, true);
        handler = new ProduceHandler(fx.topics, fx.partitions, BrokerMetrics.noop(), verifier);
    }

    @AfterEach
    void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    /** When set, the coordinator's next answer waits for it (then it is cleared). */
    volatile Promise<Void> gate;

    /** The coordinator's side: records each transaction asked about and answers every partition of it. */
    private Future<ApiMessage> coordinator(int broker, ApiKeys key, short version, ApiMessage request) {
        Promise<Void> wait = gate;
        gate = null;
        Future<ApiMessage> answer = answer(broker, key, request);
        return wait == null ? answer : wait.future().compose(v -> answer);
    }

    private Future<ApiMessage> answer(int broker, ApiKeys key, ApiMessage request) {
        assertThat(broker).isEqualTo(COORDINATOR);
        assertThat(key).isEqualTo(ApiKeys.ADD_PARTITIONS_TO_TXN);
        AddPartitionsToTxnResponseData response = new AddPartitionsToTxnResponseData();
        for (AddPartitionsToTxnTransaction t : ((AddPartitionsToTxnRequestData) request).transactions()) {
            sent.add(t.duplicate());
            AddPartitionsToTxnResult result = new AddPartitionsToTxnResult().setTransactionalId(t.transactionalId());
            t.topics().forEach(topic -> {
                AddPartitionsToTxnTopicResult tr = new AddPartitionsToTxnTopicResult().setName(topic.name());
                topic.partitions().forEach(p -> tr.resultsByPartition().add(new AddPartitionsToTxnPartitionResult()
                        .setPartitionIndex(p).setPartitionErrorCode(answers.getOrDefault(
                                new TopicPartition(topic.name(), p), Errors.NONE).code())));
                result.topicResults().add(tr);
            });
            response.resultsByTransaction().add(result);
        }
        return Future.succeededFuture(response);
    }

    /** Only the leader of {@code __transaction_state}-0 is known: the coordinator of {@link #TXN_ID}. */
    private static ClusterView coordinatorOnly() {
        return new LeadersOnly(-1, tp -> tp.topic().equals(TransactionStateTopic.NAME) ? COORDINATOR : null);
    }

    private static ProduceRequestData.PartitionProduceData batch(int partition, long pid, int seq) {
        RecordSet records = RecordSet.builder().transactional(pid, (short) 0, seq)
                .add(LogBatch.NO_TIMESTAMP, "k".getBytes(), ("v" + seq).getBytes()).build();
        return new ProduceRequestData.PartitionProduceData().setIndex(partition).setRecords(WireRecords.of(records));
    }

    private static ProduceRequestData request(Map<String, List<ProduceRequestData.PartitionProduceData>> data) {
        ProduceRequestData.TopicProduceDataCollection topics = new ProduceRequestData.TopicProduceDataCollection();
        data.forEach((topic, parts) -> topics.add(new ProduceRequestData.TopicProduceData().setName(topic)
                .setPartitionData(new ArrayList<>(parts))));
        return new ProduceRequestData().setTransactionalId(TXN_ID).setAcks((short) -1).setTimeoutMs(10_000)
                .setTopicData(topics);
    }

    /** Three partitions of two topics, each at sequence {@code seq} of producer {@link #PID}. */
    private ProduceResponseData produce(int version, int seq) {
        return await(handler.handle(fx.ctx(ApiKeys.PRODUCE, version), request(Map.of(
                "a", List.of(batch(0, PID, seq), batch(1, PID, seq)),
                "b", List.of(batch(0, PID, seq))))));
    }

    private static Map<TopicPartition, Errors> errors(ProduceResponseData response) {
        Map<TopicPartition, Errors> out = new java.util.HashMap<>();
        response.responses().forEach(t -> t.partitionResponses().forEach(p ->
                out.put(new TopicPartition(t.name(), p.index()), Errors.forCode(p.errorCode()))));
        return out;
    }

    private static Set<TopicPartition> partitionsOf(AddPartitionsToTxnTransaction t) {
        Set<TopicPartition> out = new java.util.HashSet<>();
        t.topics().forEach(topic -> topic.partitions().forEach(p -> out.add(new TopicPartition(topic.name(), p))));
        return out;
    }

    private static final TopicPartition A0 = new TopicPartition("a", 0);
    private static final TopicPartition A1 = new TopicPartition("a", 1);
    private static final TopicPartition B0 = new TopicPartition("b", 0);

    @Test
    void versionTwoRequestAddsAllItsPartitionsInOneRequest() {
        ProduceResponseData first = produce(12, 0);

        assertThat(errors(first)).containsOnly(Map.entry(A0, Errors.NONE), Map.entry(A1, Errors.NONE),
                Map.entry(B0, Errors.NONE));
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0).transactionalId()).isEqualTo(TXN_ID);
        assertThat(sent.get(0).producerId()).isEqualTo(PID);
        assertThat(sent.get(0).verifyOnly()).isFalse();
        assertThat(partitionsOf(sent.get(0))).containsExactlyInAnyOrder(A0, A1, B0);

        // the transaction is open in all three now: the next request needs no coordinator
        assertThat(errors(produce(12, 1)).values()).containsOnly(Errors.NONE);
        assertThat(sent).hasSize(1);
    }

    @Test
    void versionOneRequestVerifiesOnlyThePartitionsWithoutAnOpenTransaction() {
        assertThat(errors(produce(11, 0)).values()).containsOnly(Errors.NONE);
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0).verifyOnly()).isTrue();
        assertThat(partitionsOf(sent.get(0))).containsExactlyInAnyOrder(A0, A1, B0);

        // a request adding a partition to an open transaction asks about that partition only
        fx.topic("c", 1, Map.of());
        TopicPartition c0 = new TopicPartition("c", 0);
        ProduceResponseData second = await(handler.handle(fx.ctx(ApiKeys.PRODUCE, 11), request(Map.of(
                "a", List.of(batch(0, PID, 1)), "c", List.of(batch(0, PID, 0))))));
        assertThat(errors(second).values()).containsOnly(Errors.NONE);
        assertThat(sent).hasSize(2);
        assertThat(partitionsOf(sent.get(1))).containsExactly(c0);
    }

    @Test
    void eachPartitionIsAppendedOrFailedWithItsOwnAnswer() {
        answers.put(A1, Errors.TRANSACTION_ABORTABLE);
        answers.put(B0, Errors.CONCURRENT_TRANSACTIONS);

        Map<TopicPartition, Errors> errors = errors(produce(12, 0));

        assertThat(sent).hasSize(1);
        assertThat(errors).containsEntry(A0, Errors.NONE)
                .containsEntry(A1, Errors.TRANSACTION_ABORTABLE)
                // a retriable coordinator error becomes NOT_ENOUGH_REPLICAS, which clients retry
                .containsEntry(B0, Errors.NOT_ENOUGH_REPLICAS);
        assertThat(fx.partitions.get(A0).log().logEndOffset()).isEqualTo(1);
        assertThat(fx.partitions.get(A1).log().logEndOffset()).isZero();
        assertThat(fx.partitions.get(B0).log().logEndOffset()).isZero();

        // the retry asks again for the two that failed only
        answers.clear();
        Map<TopicPartition, Errors> retried = errors(await(handler.handle(fx.ctx(ApiKeys.PRODUCE, 12), request(Map.of(
                "a", List.of(batch(1, PID, 0)), "b", List.of(batch(0, PID, 0)))))));
        assertThat(retried.values()).containsOnly(Errors.NONE);
        assertThat(sent).hasSize(2);
        assertThat(partitionsOf(sent.get(1))).containsExactlyInAnyOrder(A1, B0);
    }

    /**
     * A producer's pipelined requests on one connection: the first opens the transaction on a-0 and waits for the
     * coordinator; the second, the next batch of a-0, is answered by the coordinator at once. Its batch must still
     * be appended after the first's (Kafka reads the connection's next request only after answering this one);
     * appended first, it met a partition without the producer's state and failed OUT_OF_ORDER_SEQUENCE_NUMBER,
     * which a transactional producer cannot recover from.
     */
    @Test
    void aConnectionsRequestsAppendInArrivalOrderWhileOneWaitsForTheCoordinator() throws Exception {
        Context loop = fx.ctx(ApiKeys.PRODUCE, 12).context();
        ProduceOrder order = new ProduceOrder(loop);
        java.util.function.IntFunction<Future<ProduceResponseData>> produce = seq -> {
            Promise<ProduceResponseData> done = Promise.promise();
            loop.runOnContext(v -> {
                RequestContext base = fx.ctx(ApiKeys.PRODUCE, 12);
                RequestContext ctx = new RequestContext(base.header(), base.clientAddress(), loop, base.localNode(),
                        base.connectionId(), base.authentication(), base.authorizer(), order);
                handler.handle(ctx, request(Map.of("a", List.of(batch(0, PID, seq))))).onComplete(done);
            });
            return done.future();
        };
        Promise<Void> firstAnswer = Promise.promise();
        gate = firstAnswer;
        Future<ProduceResponseData> first = produce.apply(0);
        await(waitFor(() -> sent.size() == 1));
        Future<ProduceResponseData> second = produce.apply(1);
        await(waitFor(() -> sent.size() == 2));
        Thread.sleep(100);
        assertThat(second.isComplete()).as("the second request waits for the first").isFalse();

        firstAnswer.complete();

        ProduceResponseData r1 = await(first);
        ProduceResponseData r2 = await(second);
        assertThat(errors(r1)).containsOnly(Map.entry(A0, Errors.NONE));
        assertThat(errors(r2)).containsOnly(Map.entry(A0, Errors.NONE));
        assertThat(r1.responses().iterator().next().partitionResponses().get(0).baseOffset()).isZero();
        assertThat(r2.responses().iterator().next().partitionResponses().get(0).baseOffset()).isEqualTo(1);
        assertThat(fx.partitions.get(A0).log().logEndOffset()).isEqualTo(2);
    }

    /** Completes once {@code condition} holds (polled). */
    private static Future<Void> waitFor(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return Future.failedFuture("condition not met in 10 s");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Future.failedFuture(e);
            }
        }
        return Future.succeededFuture();
    }

    @Test
    void transactionalBatchesOfTwoProducersFailTheWholeRequest() {
        ProduceResponseData response = await(handler.handle(fx.ctx(ApiKeys.PRODUCE, 12), request(Map.of(
                "a", List.of(batch(0, PID, 0), batch(1, PID + 1, 0))))));

        assertThat(errors(response)).containsOnly(Map.entry(A0, Errors.INVALID_PRODUCER_ID_MAPPING),
                Map.entry(A1, Errors.INVALID_PRODUCER_ID_MAPPING));
        assertThat(sent).isEmpty();
        assertThat(fx.partitions.get(A0).log().logEndOffset()).isZero();
    }
}
