package io.runnel.txn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.DescribeTransactionsResponseData;
import org.apache.kafka.common.message.ListTransactionsResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The coordinator's state machine over an in-memory log, with markers written by a test double. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TransactionCoordinatorTest {

    private static final String TXN = "txn-a";
    private static final TopicPartition T0 = new TopicPartition("t", 0);
    private static final TopicPartition T1 = new TopicPartition("t", 1);

    /** Records marker jobs; completes them when told (or at once with {@link #autoComplete}). */
    static final class FakeMarkers implements MarkerWriter {
        final List<MarkerJob> jobs = new CopyOnWriteArrayList<>();
        final List<Promise<Void>> pending = new CopyOnWriteArrayList<>();
        volatile boolean autoComplete = true;

        @Override
        public Future<Void> write(MarkerJob job) {
            jobs.add(job);
            if (autoComplete) {
                return Future.succeededFuture();
            }
            Promise<Void> p = Promise.promise();
            pending.add(p);
            return p.future();
        }

        @Override
        public void cancel(int txnPartition) {
            pending.forEach(p -> p.tryFail("cancelled"));
        }
    }

    private Vertx vertx;
    private InMemoryTransactionLog log;
    private FakeMarkers markers;
    private final AtomicLong nextId = new AtomicLong(1000);
    private final ManualTime time = new ManualTime();

    /** A clock moved by hand. */
    static final class ManualTime implements Time {
        volatile long ms = 1_000_000;

        @Override
        public long milliseconds() {
            return ms;
        }

        @Override
        public long nanoseconds() {
            return ms * 1_000_000L;
        }

        @Override
        public void sleep(long millis) {
            ms += millis;
        }

        @Override
        public void waitObject(Object obj, java.util.function.Supplier<Boolean> condition, long deadlineMs) {
            throw new UnsupportedOperationException();
        }
    }
    private TransactionCoordinator coordinator;

    @BeforeEach
    void setUp() throws Exception {
        vertx = Vertx.vertx();
        log = new InMemoryTransactionLog();
        markers = new FakeMarkers();
        coordinator = newCoordinator();
    }

    private TransactionCoordinator newCoordinator() throws Exception {
        TransactionCoordinator c = new TransactionCoordinator(vertx, new TransactionConfig(4, 60_000, 3_600_000,
                3_600_000, 3_600_000, 1000, (short) 2), log, () -> Future.succeededFuture(nextId.getAndIncrement()),
                markers, time);
        for (int p = 0; p < 4; p++) {
            await(c.onElected(p));
        }
        return c;
    }

    @AfterEach
    void tearDown() throws Exception {
        await(coordinator.close());
        await(vertx.close());
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private TransactionCoordinator.Result init() throws Exception {
        return await(coordinator.initProducerId(TXN, 30_000, -1, (short) -1));
    }

    private TransactionState state() throws Exception {
        DescribeTransactionsResponseData.TransactionState s = await(coordinator.describe(TXN));
        return TransactionState.fromName(s.transactionState());
    }

    private void awaitState(TransactionState expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (state() != expected) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("state " + state() + ", expected " + expected);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void initAddCommitWritesMarkersThenCompletes() throws Exception {
        TransactionCoordinator.Result r = init();
        assertThat(r.error()).isEqualTo(Errors.NONE);
        assertThat(r.producerId()).isEqualTo(1000);
        assertThat(r.producerEpoch()).isEqualTo((short) 0);
        assertThat(init().producerEpoch()).as("a second init bumps the epoch").isEqualTo((short) 1);

        assertThat(await(coordinator.addPartitions(TXN, 1000, (short) 1, Set.of(T0, T1), (short) 0)))
                .isEqualTo(Errors.NONE);
        assertThat(state()).isEqualTo(TransactionState.ONGOING);
        assertThat(await(coordinator.verifyPartitions(TXN, 1000, (short) 1, Set.of(T0, new TopicPartition("t", 9)))))
                .isEqualTo(Map.of(T0, Errors.NONE, new TopicPartition("t", 9), Errors.TRANSACTION_ABORTABLE));

        markers.autoComplete = false;
        TransactionCoordinator.Result end = await(coordinator.endTxn(TXN, 1000, (short) 1, true, (short) 0));
        assertThat(end.error()).isEqualTo(Errors.NONE);
        assertThat(markers.jobs).hasSize(1);
        MarkerJob job = markers.jobs.get(0);
        assertThat(job.commit()).isTrue();
        assertThat(job.partitions()).containsExactlyInAnyOrder(T0, T1);
        assertThat(job.producerEpoch()).isEqualTo((short) 1);
        assertThat(job.coordinatorEpoch()).isEqualTo(5);
        assertThat(state()).isEqualTo(TransactionState.PREPARE_COMMIT);
        // while the markers are written, a new transaction must wait
        assertThat(await(coordinator.addPartitions(TXN, 1000, (short) 1, Set.of(T0), (short) 0)))
                .isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        markers.pending.get(0).complete();
        awaitState(TransactionState.COMPLETE_COMMIT);
        // a retried commit is answered NONE; an abort now is INVALID_TXN_STATE
        assertThat(await(coordinator.endTxn(TXN, 1000, (short) 1, true, (short) 0)).error()).isEqualTo(Errors.NONE);
        assertThat(await(coordinator.endTxn(TXN, 1000, (short) 1, false, (short) 0)).error())
                .isEqualTo(Errors.INVALID_TXN_STATE);
        List<TransactionState> written = log.entries(coordinator.partitionFor(TXN)).stream()
                .map(e -> e.value().state()).toList();
        assertThat(written).containsExactly(TransactionState.EMPTY, TransactionState.EMPTY, TransactionState.ONGOING,
                TransactionState.PREPARE_COMMIT, TransactionState.COMPLETE_COMMIT);
    }

    /**
     * The first produce of a transaction-version-2 producer's next transaction reaches its leaders while the last
     * transaction's markers are still written: each leader adds its partition (one AddPartitionsToTxn each). All
     * must wait for the completion and be added, in one write, not all but the first answered
     * CONCURRENT_TRANSACTIONS (which the leader turns into NOT_ENOUGH_REPLICAS and the client retries after
     * retry.backoff.ms, ~100 ms per transaction).
     */
    @Test
    void addsArrivingWhileMarkersAreWrittenAllWaitAndAreWrittenTogether() throws Exception {
        init();
        TopicPartition t2 = new TopicPartition("t", 2);
        assertThat(await(coordinator.addPartitions(TXN, 1000, (short) 0, Set.of(T0, T1, t2), (short) 2)))
                .isEqualTo(Errors.NONE);
        markers.autoComplete = false;
        TransactionCoordinator.Result end = await(coordinator.endTxn(TXN, 1000, (short) 0, true, (short) 2));
        assertThat(end.error()).isEqualTo(Errors.NONE);
        short next = end.producerEpoch();
        assertThat(state()).isEqualTo(TransactionState.PREPARE_COMMIT);
        List<Future<Errors>> adds = List.of(
                coordinator.addPartitions(TXN, 1000, next, Set.of(T0), (short) 2),
                coordinator.addPartitions(TXN, 1000, next, Set.of(T1), (short) 2),
                coordinator.addPartitions(TXN, 1000, next, Set.of(t2), (short) 2));
        // let them reach the coordinator and wait there before the markers finish
        await(coordinator.describe(TXN));
        markers.pending.get(0).complete();
        for (Future<Errors> add : adds) {
            assertThat(await(add)).isEqualTo(Errors.NONE);
        }
        assertThat(state()).isEqualTo(TransactionState.ONGOING);
        DescribeTransactionsResponseData.TransactionState described = await(coordinator.describe(TXN));
        assertThat(described.topics().find("t").partitions()).containsExactlyInAnyOrder(0, 1, 2);
        List<TransactionState> written = log.entries(coordinator.partitionFor(TXN)).stream()
                .map(e -> e.value().state()).toList();
        assertThat(written).as("the three adds in one write").containsExactly(TransactionState.EMPTY,
                TransactionState.ONGOING, TransactionState.PREPARE_COMMIT, TransactionState.COMPLETE_COMMIT,
                TransactionState.ONGOING);
    }

    @Test
    void aNewProducerFencesTheOldOneAndAbortsItsTransaction() throws Exception {
        init();
        await(coordinator.addPartitions(TXN, 1000, (short) 0, Set.of(T0), (short) 0));
        // the zombie's successor: the ongoing transaction is aborted first, the client retries
        TransactionCoordinator.Result first = init();
        assertThat(first.error()).isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        awaitState(TransactionState.COMPLETE_ABORT);
        MarkerJob abort = markers.jobs.get(0);
        assertThat(abort.commit()).isFalse();
        assertThat(abort.producerEpoch()).as("fenced, then bumped by the abort of version 2").isEqualTo((short) 2);
        TransactionCoordinator.Result second = init();
        assertThat(second.error()).isEqualTo(Errors.NONE);
        assertThat(second.producerEpoch()).isEqualTo((short) 3);
        // the zombie is fenced everywhere
        assertThat(await(coordinator.addPartitions(TXN, 1000, (short) 0, Set.of(T0), (short) 0)))
                .isEqualTo(Errors.PRODUCER_FENCED);
        assertThat(await(coordinator.endTxn(TXN, 1000, (short) 0, true, (short) 0)).error())
                .isEqualTo(Errors.PRODUCER_FENCED);
        assertThat(await(coordinator.addPartitions(TXN, 77, (short) 3, Set.of(T0), (short) 0)))
                .isEqualTo(Errors.INVALID_PRODUCER_ID_MAPPING);
    }

    @Test
    void version2BumpsTheEpochAtEveryEnd() throws Exception {
        init();
        assertThat(await(coordinator.addPartitions(TXN, 1000, (short) 0, Set.of(T0), (short) 2))).isEqualTo(
                Errors.NONE);
        TransactionCoordinator.Result end = await(coordinator.endTxn(TXN, 1000, (short) 0, true, (short) 2));
        assertThat(end.error()).isEqualTo(Errors.NONE);
        assertThat(end.producerEpoch()).isEqualTo((short) 1);
        assertThat(markers.jobs.get(0).producerEpoch()).isEqualTo((short) 1);
        awaitState(TransactionState.COMPLETE_COMMIT);
        // a retry of that EndTxn (old epoch) is answered with the bumped epoch
        TransactionCoordinator.Result retry = await(coordinator.endTxn(TXN, 1000, (short) 0, true, (short) 2));
        assertThat(retry.error()).isEqualTo(Errors.NONE);
        assertThat(retry.producerEpoch()).isEqualTo((short) 1);
        assertThat(await(coordinator.addPartitions(TXN, 1000, (short) 1, Set.of(T1), (short) 2))).isEqualTo(
                Errors.NONE);
        assertThat(await(coordinator.endTxn(TXN, 1000, (short) 1, false, (short) 2)).producerEpoch())
                .isEqualTo((short) 2);
    }

    @Test
    void timeoutsAbortAndIdsExpireAndLimitsHold() throws Exception {
        assertThat(await(coordinator.initProducerId(TXN, 60_001, -1, (short) -1)).error())
                .isEqualTo(Errors.INVALID_TRANSACTION_TIMEOUT);
        assertThat(await(coordinator.initProducerId("", 1000, -1, (short) -1)).error())
                .isEqualTo(Errors.INVALID_REQUEST);
        init();
        await(coordinator.addPartitions(TXN, 1000, (short) 0, Set.of(T0), (short) 0));
        await(coordinator.abortTimedOutNow());
        assertThat(markers.jobs).as("not timed out yet").isEmpty();
        time.sleep(30_001);
        await(coordinator.abortTimedOutNow());
        awaitState(TransactionState.COMPLETE_ABORT);
        assertThat(markers.jobs).hasSize(1);
        assertThat(markers.jobs.get(0).commit()).isFalse();
        // the producer that timed out is fenced
        assertThat(await(coordinator.endTxn(TXN, 1000, (short) 0, true, (short) 0)).error())
                .isEqualTo(Errors.PRODUCER_FENCED);

        ListTransactionsResponseData listed = await(coordinator.list(List.of("CompleteAbort", "Bogus"), Set.of(), -1,
                null, id -> true));
        assertThat(listed.transactionStates()).extracting(ListTransactionsResponseData.TransactionState::transactionalId)
                .containsExactly(TXN);
        assertThat(listed.unknownStateFilters()).containsExactly("Bogus");
        assertThat(await(coordinator.list(List.of(), Set.of(), -1, null, id -> false)).transactionStates()).isEmpty();

        time.sleep(3_600_001);
        await(coordinator.expireNow());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (await(coordinator.describe(TXN)).errorCode() != Errors.TRANSACTIONAL_ID_NOT_FOUND.code()) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            Thread.sleep(10);
        }
        List<TransactionLogCodec.Entry> entries = log.entries(coordinator.partitionFor(TXN));
        assertThat(entries.get(entries.size() - 1).value()).as("a tombstone").isNull();
    }

    @Test
    void aNewCoordinatorReplaysThePartitionAndFinishesPreparedTransactions() throws Exception {
        init();
        await(coordinator.addPartitions(TXN, 1000, (short) 0, Set.of(T0, T1), (short) 0));
        markers.autoComplete = false;
        await(coordinator.endTxn(TXN, 1000, (short) 0, false, (short) 0));
        assertThat(state()).isEqualTo(TransactionState.PREPARE_ABORT);
        // the coordinator moves before the markers are written
        int partition = coordinator.partitionFor(TXN);
        await(coordinator.onResigned(partition));
        assertThat(await(coordinator.describe(TXN)).errorCode()).isEqualTo(Errors.NOT_COORDINATOR.code());
        await(coordinator.close());
        markers = new FakeMarkers();
        coordinator = newCoordinator();
        awaitState(TransactionState.COMPLETE_ABORT);
        assertThat(markers.jobs).hasSize(1);
        assertThat(markers.jobs.get(0).partitions()).containsExactlyInAnyOrder(T0, T1);
        assertThat(markers.jobs.get(0).commit()).isFalse();
        assertThat(init().producerEpoch()).isEqualTo((short) 1);
    }

    @Test
    void aFailedWriteChangesNothing() throws Exception {
        init();
        log.failAppends = true;
        assertThat(await(coordinator.addPartitions(TXN, 1000, (short) 0, Set.of(T0), (short) 0)))
                .isEqualTo(Errors.COORDINATOR_NOT_AVAILABLE);
        assertThat(state()).isEqualTo(TransactionState.EMPTY);
        log.failAppends = false;
        assertThat(await(coordinator.addPartitions(TXN, 1000, (short) 0, Set.of(T0), (short) 0)))
                .isEqualTo(Errors.NONE);
        assertThat(await(coordinator.describe("other")).errorCode())
                .isEqualTo(Errors.TRANSACTIONAL_ID_NOT_FOUND.code());
    }
}
