package io.runnel.txn;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import io.runnel.log.RecordSet;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.DescribeTransactionsResponseData;
import org.apache.kafka.common.message.ListTransactionsResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transaction coordinator, as Apache Kafka 4.x's behaves (TransactionCoordinator and TransactionStateManager):
 * the state of each transactional id lives in {@code __transaction_state} partition
 * {@code abs(transactionalId.hashCode()) % partitions} ({@link TransactionLogCodec}, Kafka's format), and the
 * broker that leads that partition coordinates the id: {@link #onElected} replays the partition (its ids get
 * COORDINATOR_LOAD_IN_PROGRESS until then) and resumes the markers of transactions that were being completed,
 * {@link #onResigned} drops them, and ids of partitions led elsewhere get NOT_COORDINATOR.
 *
 * <p>A transaction: InitProducerId gives the id a producer id and a new epoch (fencing older producers and
 * aborting their ongoing transaction first); AddPartitionsToTxn / AddOffsetsToTxn (or, with transaction version 2,
 * the first produce to a partition) make it Ongoing; EndTxn writes PrepareCommit/PrepareAbort, answers, then has
 * the markers written ({@link MarkerWriter}) and writes CompleteCommit/CompleteAbort. Every state change is written
 * (acks=all) before it takes effect; while one is in flight, requests that would start another get
 * CONCURRENT_TRANSACTIONS. Transactions older than their timeout are aborted
 * ({@code transaction.abort.timed.out.transaction.cleanup.interval.ms}); ids idle for
 * {@code transactional.id.expiration.ms} are removed (a tombstone).
 *
 * <p>Threading: all state lives on ONE event-loop context created for the coordinator. Public methods may be called
 * from any thread; they hop onto that context and return futures completed on it. Nothing blocks it: the replay of a
 * partition runs in an ordered executeBlocking.
 */
public final class TransactionCoordinator {

    private static final Logger LOG = LoggerFactory.getLogger(TransactionCoordinator.class);
    private static final long RETRY_MS = 200;
    /** How long an AddPartitionsToTxn waits for the transition in flight before answering CONCURRENT_TRANSACTIONS. */
    private static final long PENDING_WAIT_MS = 1000;

    /** The answer of InitProducerId or EndTxn. */
    public record Result(Errors error, long producerId, short producerEpoch) {
        static Result error(Errors e) {
            return new Result(e, RecordBatch.NO_PRODUCER_ID, RecordBatch.NO_PRODUCER_EPOCH);
        }
    }

    /** Allocates producer ids (the metadata log's blocks). */
    public interface ProducerIds {
        Future<Long> next();
    }

    private static final class Partition {
        final long token;
        boolean loading = true;
        int coordinatorEpoch;

        Partition(long token) {
            this.token = token;
        }
    }

    private final Vertx vertx;
    private final Context context;
    private final TransactionConfig config;
    private final TransactionLog log;
    private final ProducerIds ids;
    private final MarkerWriter markers;
    private final Time time;
    private final Map<Integer, Partition> partitions = new HashMap<>();
    private final Map<String, TransactionMetadata> txns = new HashMap<>();
    private volatile IntSupplier partitionCount;
    private long loadSequence;
    private long abortTimer = -1;
    private long expireTimer = -1;
    private boolean closed;

    public TransactionCoordinator(Vertx vertx, TransactionConfig config, TransactionLog log, ProducerIds ids,
                                  MarkerWriter markers, Time time) {
        this.vertx = vertx;
        this.context = ((VertxInternal) vertx).createEventLoopContext();
        this.config = config;
        this.log = log;
        this.ids = ids;
        this.markers = markers;
        this.time = time;
        this.partitionCount = config::numPartitions;
    }

    public TransactionConfig config() {
        return config;
    }

    /** Where the partition count of {@code __transaction_state} comes from (the existing topic's, as Kafka). */
    public void partitionCountFrom(IntSupplier count) {
        this.partitionCount = count;
    }

    /** The {@code __transaction_state} partition of a transactional id, as Kafka computes it. Any thread. */
    public int partitionFor(String transactionalId) {
        return Utils.abs(transactionalId.hashCode()) % partitionCount.getAsInt();
    }

    /** Starts the timers that abort timed-out transactions and expire idle ids. */
    public Future<Void> start() {
        return call(() -> {
            if (abortTimer < 0 && !closed) {
                abortTimer = vertx.setPeriodic(config.abortTimedOutIntervalMs(),
                        id -> context.runOnContext(v -> abortTimedOutTransactions()));
                expireTimer = vertx.setPeriodic(config.removeExpiredIntervalMs(),
                        id -> context.runOnContext(v -> expireTransactionalIds()));
            }
            return Future.succeededFuture();
        });
    }

    /** This broker leads {@code __transaction_state} partition {@code partition} now: load its ids. Any thread. */
    public Future<Void> onElected(int partition) {
        return call(() -> load(partition));
    }

    /** This broker no longer leads the partition: drop its ids and stop their markers. Any thread. */
    public Future<Void> onResigned(int partition) {
        return call(() -> {
            unload(partition);
            return Future.succeededFuture();
        });
    }

    /** Partitions served now (loaded). Any thread. */
    public Future<Set<Integer>> servedPartitions() {
        return call(() -> {
            Set<Integer> out = new java.util.TreeSet<>();
            partitions.forEach((p, s) -> {
                if (!s.loading) {
                    out.add(p);
                }
            });
            return Future.succeededFuture(out);
        });
    }

    public Future<Void> close() {
        return call(() -> {
            if (closed) {
                return Future.succeededFuture();
            }
            closed = true;
            if (abortTimer >= 0) {
                vertx.cancelTimer(abortTimer);
                vertx.cancelTimer(expireTimer);
            }
            for (Integer p : new ArrayList<>(partitions.keySet())) {
                unload(p);
            }
            markers.close();
            return Future.succeededFuture();
        });
    }

    // ---------------------------------------------------------------- loading

    private Future<Void> load(int partition) {
        if (closed || partitions.containsKey(partition)) {
            return Future.succeededFuture();
        }
        Partition p = new Partition(++loadSequence);
        p.coordinatorEpoch = log.leaderEpoch(partition);
        partitions.put(partition, p);
        long started = System.nanoTime();
        return context.executeBlocking(() -> readPartition(partition), true).transform(ar -> {
            if (closed || partitions.get(partition) != p) {
                return Future.succeededFuture();
            }
            if (ar.failed()) {
                LOG.error("Loading the transactions of {}-{} failed; retrying", Topic.TRANSACTION_STATE_TOPIC_NAME,
                        partition, ar.cause());
                partitions.remove(partition);
                vertx.setTimer(1000, id -> context.runOnContext(v -> load(partition)));
                return Future.succeededFuture();
            }
            Map<String, TxnTransit> loaded = ar.result();
            for (Map.Entry<String, TxnTransit> e : loaded.entrySet()) {
                txns.put(e.getKey(), TransactionMetadata.fromTransit(e.getKey(), e.getValue()));
            }
            p.loading = false;
            int resumed = 0;
            for (TransactionMetadata md : new ArrayList<>(txns.values())) {
                if (partitionFor(md.transactionalId) != partition) {
                    continue;
                }
                if (md.state == TransactionState.PREPARE_COMMIT || md.state == TransactionState.PREPARE_ABORT) {
                    // a coordinator died between writing the decision and completing it: finish the markers
                    boolean commit = md.state == TransactionState.PREPARE_COMMIT;
                    TxnTransit complete = md.prepareComplete(now());
                    sendMarkers(md, complete, commit, p.coordinatorEpoch);
                    resumed++;
                }
            }
            if (!loaded.isEmpty()) {
                LOG.info("Loaded {} transactional ids from {}-{} in {} ms ({} transactions being completed)",
                        loaded.size(), Topic.TRANSACTION_STATE_TOPIC_NAME, partition,
                        (System.nanoTime() - started) / 1_000_000, resumed);
            }
            return Future.succeededFuture();
        });
    }

    private Map<String, TxnTransit> readPartition(int partition) throws IOException {
        Map<String, TxnTransit> out = new LinkedHashMap<>();
        log.replay(partition, r -> {
            if (!r.hasKey()) {
                return;
            }
            TransactionLogCodec.Entry e;
            try {
                e = TransactionLogCodec.decode(r.key(), r.hasValue() ? r.value() : null);
            } catch (IllegalArgumentException ex) {
                throw new UncheckedIOException(new IOException("offset " + r.offset() + ": " + ex.getMessage(), ex));
            }
            if (e == null) {
                return;
            }
            if (e.value() == null) {
                out.remove(e.transactionalId());
            } else {
                out.put(e.transactionalId(), e.value());
            }
        });
        return out;
    }

    private void unload(int partition) {
        if (partitions.remove(partition) == null) {
            return;
        }
        markers.cancel(partition);
        int count = 0;
        for (Iterator<TransactionMetadata> it = txns.values().iterator(); it.hasNext(); ) {
            if (partitionFor(it.next().transactionalId) == partition) {
                it.remove();
                count++;
            }
        }
        if (count > 0) {
            LOG.info("Unloaded {} transactional ids of {}-{}: no longer its leader", count,
                    Topic.TRANSACTION_STATE_TOPIC_NAME, partition);
        }
    }

    /** NONE when the id's partition is loaded here, else the error a request for it gets. */
    private Errors partitionError(String transactionalId) {
        if (closed) {
            return Errors.COORDINATOR_NOT_AVAILABLE;
        }
        Partition p = partitions.get(partitionFor(transactionalId));
        if (p == null) {
            return Errors.NOT_COORDINATOR;
        }
        return p.loading ? Errors.COORDINATOR_LOAD_IN_PROGRESS : Errors.NONE;
    }

    private int coordinatorEpoch(String transactionalId) {
        Partition p = partitions.get(partitionFor(transactionalId));
        return p == null ? -1 : p.coordinatorEpoch;
    }

    /** Whether the id is still served here at the coordinator epoch an operation started with. */
    private boolean stillOwned(String transactionalId, int coordinatorEpoch) {
        Partition p = partitions.get(partitionFor(transactionalId));
        return p != null && !p.loading && p.coordinatorEpoch == coordinatorEpoch && !closed;
    }

    // ---------------------------------------------------------------- writes

    /**
     * Writes a prepared transition; completes with NONE once it is written and applied, or with the error the
     * client gets (the pending transition then dropped).
     */
    private Future<Errors> append(TransactionMetadata md, TxnTransit transit, int coordinatorEpoch) {
        String id = md.transactionalId;
        byte[] value = transit.state() == TransactionState.DEAD ? null : TransactionLogCodec.value(transit);
        RecordSet batch = RecordSet.of(new RecordSet.NewRecord(now(), TransactionLogCodec.key(id), value));
        Promise<Errors> done = Promise.promise();
        if (transit.state() != TransactionState.COMPLETE_COMMIT && transit.state() != TransactionState.COMPLETE_ABORT) {
            md.pendingDone = done.future().mapEmpty();
        }
        Future<Void> appended;
        try {
            appended = log.append(partitionFor(id), batch);
        } catch (RuntimeException e) {
            appended = Future.failedFuture(e);
        }
        appended.onComplete(ar -> context.runOnContext(v -> {
            if (!stillOwned(id, coordinatorEpoch) || txns.get(id) != md) {
                // the partition moved (or was reloaded) while the write was in flight
                if (md.pendingState == transit.state()) {
                    md.pendingState = null;
                }
                done.complete(Errors.NOT_COORDINATOR);
                return;
            }
            if (ar.failed()) {
                Errors e = appendError(ar.cause());
                LOG.debug("Writing {} of {} failed: {}", transit.state(), id, ar.cause().toString());
                md.pendingState = null;
                done.complete(e);
                return;
            }
            if (transit.state() == TransactionState.DEAD) {
                txns.remove(id);
                md.pendingState = null;
                md.state = TransactionState.DEAD;
            } else {
                md.complete(transit);
            }
            done.complete(Errors.NONE);
        }));
        return done.future();
    }

    /** Kafka's mapping of a failed write to __transaction_state (TransactionStateManager.appendTransactionToLog). */
    static Errors appendError(Throwable t) {
        Errors e = t instanceof IOException || t instanceof UncheckedIOException ? Errors.KAFKA_STORAGE_ERROR
                : Errors.forException(t);
        return switch (e) {
            case UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT ->
                    Errors.COORDINATOR_NOT_AVAILABLE;
            case NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR -> Errors.NOT_COORDINATOR;
            case MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE -> Errors.UNKNOWN_SERVER_ERROR;
            default -> e;
        };
    }

    // ---------------------------------------------------------------- InitProducerId

    /**
     * InitProducerId with a transactional id. {@code expectedProducerId}/{@code expectedEpoch} are the v3+ fields
     * (-1 when absent).
     */
    public Future<Result> initProducerId(String transactionalId, int timeoutMs, long expectedProducerId,
                                         short expectedEpoch) {
        return call(() -> {
            if (transactionalId.isEmpty()) {
                return Future.succeededFuture(Result.error(Errors.INVALID_REQUEST));
            }
            if (timeoutMs <= 0 || timeoutMs > config.maxTimeoutMs()) {
                return Future.succeededFuture(Result.error(Errors.INVALID_TRANSACTION_TIMEOUT));
            }
            Errors e = partitionError(transactionalId);
            if (e != Errors.NONE) {
                return Future.succeededFuture(Result.error(e));
            }
            TransactionMetadata md = txns.get(transactionalId);
            if (md != null) {
                return initExisting(md, timeoutMs, expectedProducerId, expectedEpoch);
            }
            return ids.next().transform(ar -> onContext(() -> {
                if (ar.failed()) {
                    return Future.succeededFuture(Result.error(Errors.forException(ar.cause())));
                }
                Errors again = partitionError(transactionalId);
                if (again != Errors.NONE) {
                    return Future.succeededFuture(Result.error(again));
                }
                TransactionMetadata created = txns.computeIfAbsent(transactionalId,
                        id -> TransactionMetadata.fresh(id, ar.result(), timeoutMs, now()));
                return initExisting(created, timeoutMs, expectedProducerId, expectedEpoch);
            }));
        });
    }

    private Future<Result> initExisting(TransactionMetadata md, int timeoutMs, long expectedPid, short expectedEpoch) {
        boolean expected = expectedPid != RecordBatch.NO_PRODUCER_ID;
        if (md.pendingTransitionInProgress()) {
            return Future.succeededFuture(Result.error(Errors.CONCURRENT_TRANSACTIONS));
        }
        if (expected && !(md.producerEpoch == RecordBatch.NO_PRODUCER_EPOCH || expectedPid == md.producerId
                || (expectedPid == md.prevProducerId && TransactionMetadata.isEpochExhausted(expectedEpoch)))) {
            return Future.succeededFuture(Result.error(Errors.PRODUCER_FENCED));
        }
        int coordinatorEpoch = coordinatorEpoch(md.transactionalId);
        switch (md.state) {
            case PREPARE_ABORT, PREPARE_COMMIT -> {
                return Future.succeededFuture(Result.error(Errors.CONCURRENT_TRANSACTIONS));
            }
            case COMPLETE_ABORT, COMPLETE_COMMIT, EMPTY -> {
                if (md.isProducerEpochExhausted() && (!expected || expectedEpoch == md.producerEpoch)) {
                    return ids.next().transform(ar -> onContext(() -> {
                        if (ar.failed()) {
                            return Future.succeededFuture(Result.error(Errors.forException(ar.cause())));
                        }
                        if (!stillOwned(md.transactionalId, coordinatorEpoch) || md.pendingTransitionInProgress()) {
                            return Future.succeededFuture(Result.error(md.pendingTransitionInProgress()
                                    ? Errors.CONCURRENT_TRANSACTIONS : Errors.NOT_COORDINATOR));
                        }
                        TxnTransit t = md.prepareProducerIdRotation(ar.result(), timeoutMs, now(), expected);
                        return appendInit(md, t, coordinatorEpoch);
                    }));
                }
                Errors[] error = new Errors[1];
                TxnTransit t = md.prepareIncrementProducerEpoch(timeoutMs, expected ? expectedEpoch : null, now(),
                        error);
                if (t == null) {
                    return Future.succeededFuture(Result.error(error[0]));
                }
                return appendInit(md, t, coordinatorEpoch);
            }
            case ONGOING -> {
                // fence the producer of the ongoing transaction and abort it; the client retries on
                // CONCURRENT_TRANSACTIONS and gets the next epoch then
                TxnTransit fence = md.prepareFenceProducerEpoch();
                return endTransaction(md.transactionalId, fence.producerId(), fence.producerEpoch(), false, false,
                        config.serverTransactionVersion(), RecordBatch.NO_PRODUCER_ID)
                        .map(r -> Result.error(r.error() == Errors.NONE ? Errors.CONCURRENT_TRANSACTIONS : r.error()));
            }
            default -> throw new IllegalStateException("Transactional id " + md.transactionalId + " in state "
                    + md.state);
        }
    }

    private Future<Result> appendInit(TransactionMetadata md, TxnTransit t, int coordinatorEpoch) {
        return append(md, t, coordinatorEpoch).map(e -> {
            if (e != Errors.NONE) {
                return Result.error(e);
            }
            LOG.info("Initialized transactional id {} with producer id {} and epoch {} on {}-{}", md.transactionalId,
                    md.producerId, md.producerEpoch, Topic.TRANSACTION_STATE_TOPIC_NAME,
                    partitionFor(md.transactionalId));
            return new Result(Errors.NONE, md.producerId, md.producerEpoch);
        });
    }

    // ---------------------------------------------------------------- AddPartitionsToTxn / AddOffsetsToTxn

    /**
     * Adds partitions to the transaction (AddPartitionsToTxn from a client, AddOffsetsToTxn with the group's
     * offsets partition, or a partition leader on behalf of a transaction-version-2 client, which passes
     * {@code clientVersion} 2).
     */
    public Future<Errors> addPartitions(String transactionalId, long producerId, short producerEpoch,
                                        Set<TopicPartition> added, short clientVersion) {
        return addPartitions(transactionalId, producerId, producerEpoch, added, clientVersion, 0L);
    }

    /**
     * @param waitUntil {@link System#nanoTime} until which the add may wait for a transition in flight (the markers
     *                  of the last transaction), 0 when it has not waited yet
     */
    private Future<Errors> addPartitions(String transactionalId, long producerId, short producerEpoch,
                                         Set<TopicPartition> added, short clientVersion, long waitUntil) {
        return call(() -> {
            if (transactionalId == null || transactionalId.isEmpty()) {
                return Future.succeededFuture(Errors.INVALID_REQUEST);
            }
            Errors e = partitionError(transactionalId);
            if (e != Errors.NONE) {
                return Future.succeededFuture(e);
            }
            TransactionMetadata md = txns.get(transactionalId);
            if (md == null || md.producerId != producerId) {
                return Future.succeededFuture(Errors.INVALID_PRODUCER_ID_MAPPING);
            }
            if (md.producerEpoch != producerEpoch) {
                return Future.succeededFuture(Errors.PRODUCER_FENCED);
            }
            if (md.pendingTransitionInProgress() && md.pendingDone != null) {
                // A transition is being written: an add (these partitions join the next write, one for all that
                // arrive meanwhile, as Kafka's leaders batch a produce request's partitions into one
                // AddPartitionsToTxn), or the completion of the last transaction, whose markers a
                // transaction-version-2 producer's first produce of the next one usually meets (its partition
                // leaders each add their partition at once). The adds wait for it together, up to PENDING_WAIT_MS,
                // instead of being answered CONCURRENT_TRANSACTIONS, which the leader turns into
                // NOT_ENOUGH_REPLICAS and the client retries only after retry.backoff.ms (Kafka's leaders retry
                // it themselves, add.partitions.to.txn.retry.backoff.ms).
                long deadline = waitUntil != 0 ? waitUntil
                        : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PENDING_WAIT_MS);
                long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (md.pendingState == TransactionState.ONGOING || leftMs > 0) {
                    return queueAdd(md, producerId, producerEpoch, added, clientVersion, deadline, leftMs);
                }
            }
            if (md.pendingTransitionInProgress() || md.state == TransactionState.PREPARE_COMMIT
                    || md.state == TransactionState.PREPARE_ABORT) {
                LOG.debug("Adding {} to the transaction of {}: CONCURRENT_TRANSACTIONS (state {}, {} pending)", added,
                        transactionalId, md.state, md.pendingState);
                return Future.succeededFuture(Errors.CONCURRENT_TRANSACTIONS);
            }
            if (md.state == TransactionState.ONGOING && md.partitions.containsAll(added)) {
                return Future.succeededFuture(Errors.NONE);
            }
            short version = clientVersion >= 2 ? clientVersion : md.state == TransactionState.ONGOING
                    ? md.clientTransactionVersion : clientVersion;
            TxnTransit t = md.prepareAddPartitions(added, now(), version);
            return append(md, t, coordinatorEpoch(transactionalId));
        });
    }

    /**
     * Queues partitions to add once the transition in flight ({@code md.pendingDone}) is done: every add queued
     * meanwhile is then tried as one (and waits again if another transition is in flight, until {@code deadline},
     * or for as long as it is an add, which ends with its write).
     */
    private Future<Errors> queueAdd(TransactionMetadata md, long producerId, short producerEpoch,
                                    Set<TopicPartition> added, short clientVersion, long deadline, long leftMs) {
        if (md.queuedAdds != null && (md.queuedProducerId != producerId || md.queuedProducerEpoch != producerEpoch)) {
            // the epoch moved on while these waited: the older ones are answered when their wait ends
            return Future.succeededFuture(Errors.CONCURRENT_TRANSACTIONS);
        }
        if (md.queuedAdds == null) {
            md.queuedAdds = new java.util.LinkedHashSet<>();
            md.queuedDone = Promise.promise();
            md.queuedClientVersion = clientVersion;
            md.queuedProducerId = producerId;
            md.queuedProducerEpoch = producerEpoch;
            Future<Void> pending = md.pendingState == TransactionState.ONGOING ? md.pendingDone
                    : md.pendingDone.timeout(Math.max(1, leftMs), TimeUnit.MILLISECONDS);
            pending.onComplete(x -> context.runOnContext(v -> {
                Set<TopicPartition> queued = md.queuedAdds;
                Promise<Errors> done = md.queuedDone;
                short version = md.queuedClientVersion;
                md.queuedAdds = null;
                md.queuedDone = null;
                addPartitions(md.transactionalId, producerId, producerEpoch, queued, version, deadline)
                        .onComplete(done);
            }));
        }
        md.queuedAdds.addAll(added);
        return md.queuedDone.future();
    }

    /**
     * The check of KIP-890 part 1 a partition leader makes before appending a transactional batch of an older
     * client: whether each partition is in the ongoing transaction (TRANSACTION_ABORTABLE when not); a single error
     * for all when the producer does not match.
     */
    public Future<Map<TopicPartition, Errors>> verifyPartitions(String transactionalId, long producerId,
                                                                short producerEpoch, Set<TopicPartition> asked) {
        return call(() -> {
            Map<TopicPartition, Errors> out = new LinkedHashMap<>();
            Errors e = transactionalId == null || transactionalId.isEmpty() ? Errors.INVALID_REQUEST
                    : partitionError(transactionalId);
            TransactionMetadata md = e == Errors.NONE ? txns.get(transactionalId) : null;
            if (e == Errors.NONE) {
                if (md == null || md.producerId != producerId) {
                    e = Errors.INVALID_PRODUCER_ID_MAPPING;
                } else if (md.producerEpoch != producerEpoch) {
                    e = Errors.PRODUCER_FENCED;
                } else if (md.state == TransactionState.PREPARE_COMMIT
                        || md.state == TransactionState.PREPARE_ABORT) {
                    e = Errors.CONCURRENT_TRANSACTIONS;
                }
            }
            for (TopicPartition tp : asked) {
                out.put(tp, e != Errors.NONE ? e
                        : md.partitions.contains(tp) ? Errors.NONE : Errors.TRANSACTION_ABORTABLE);
            }
            return Future.succeededFuture(out);
        });
    }

    // ---------------------------------------------------------------- EndTxn

    /**
     * EndTxn from a client; {@code clientVersion} 2 for EndTxn v5 (the epoch is bumped at every end, and the answer
     * carries the producer id and epoch to continue with).
     */
    public Future<Result> endTxn(String transactionalId, long producerId, short producerEpoch, boolean commit,
                                 short clientVersion) {
        return call(() -> endTransaction(transactionalId, producerId, producerEpoch, commit, true, clientVersion,
                RecordBatch.NO_PRODUCER_ID));
    }

    private Future<Result> endTransaction(String transactionalId, long producerId, short producerEpoch,
                                          boolean commit, boolean fromClient, short clientVersion,
                                          long allocatedProducerId) {
        if (transactionalId == null || transactionalId.isEmpty()) {
            return Future.succeededFuture(Result.error(Errors.INVALID_REQUEST));
        }
        Errors pe = partitionError(transactionalId);
        if (pe != Errors.NONE) {
            return Future.succeededFuture(Result.error(pe));
        }
        TransactionMetadata md = txns.get(transactionalId);
        if (md == null) {
            return Future.succeededFuture(Result.error(Errors.INVALID_PRODUCER_ID_MAPPING));
        }
        int coordinatorEpoch = coordinatorEpoch(transactionalId);
        boolean fencing = md.pendingState == TransactionState.PREPARE_EPOCH_FENCE;
        boolean v2 = !fencing && md.epochBumpEveryEnd();
        boolean retryOnOverflow = v2 && md.prevProducerId == producerId && producerEpoch == Short.MAX_VALUE - 1
                && md.producerEpoch == 0;
        boolean retryOnEpochBump = endTxnEpochBumped(md, producerEpoch);
        boolean validEpoch;
        if (v2) {
            validEpoch = switch (md.state) {
                case ONGOING, EMPTY, DEAD, PREPARE_EPOCH_FENCE -> producerEpoch == md.producerEpoch;
                case PREPARE_COMMIT, PREPARE_ABORT -> retryOnEpochBump;
                case COMPLETE_COMMIT, COMPLETE_ABORT -> retryOnEpochBump || retryOnOverflow;
            };
        } else {
            validEpoch = (!fromClient || producerEpoch == md.producerEpoch) && producerEpoch >= md.producerEpoch;
        }
        if (md.producerId != producerId && !retryOnOverflow) {
            return Future.succeededFuture(Result.error(Errors.INVALID_PRODUCER_ID_MAPPING));
        }
        if (!validEpoch) {
            return Future.succeededFuture(Result.error(Errors.PRODUCER_FENCED));
        }
        if (md.pendingTransitionInProgress() && !fencing) {
            return Future.succeededFuture(Result.error(Errors.CONCURRENT_TRANSACTIONS));
        }
        switch (md.state) {
            case ONGOING -> {
                if (clientVersion >= 2 && !fencing && md.isProducerEpochExhausted()
                        && allocatedProducerId == RecordBatch.NO_PRODUCER_ID) {
                    // the bump at this end overflows the epoch: the producer continues with a new producer id
                    return ids.next().transform(ar -> onContext(() -> ar.failed()
                            ? Future.succeededFuture(Result.error(Errors.forException(ar.cause())))
                            : endTransaction(transactionalId, producerId, producerEpoch, commit, fromClient,
                            clientVersion, ar.result())));
                }
                long nextPid = clientVersion >= 2 && !fencing && md.isProducerEpochExhausted() ? allocatedProducerId
                        : RecordBatch.NO_PRODUCER_ID;
                boolean epochFence = false;
                if (!commit && fencing) {
                    epochFence = true;
                    md.pendingState = null;
                    md.producerEpoch = producerEpoch;
                    md.lastProducerEpoch = RecordBatch.NO_PRODUCER_EPOCH;
                }
                TxnTransit prepared = md.prepareAbortOrCommit(commit ? TransactionState.PREPARE_COMMIT
                        : TransactionState.PREPARE_ABORT, clientVersion, nextPid, now());
                boolean wasFence = epochFence;
                return append(md, prepared, coordinatorEpoch).map(error -> {
                    if (error != Errors.NONE) {
                        if (wasFence && txns.get(transactionalId) == md) {
                            md.hasFailedEpochFence = true;
                            LOG.warn("Writing the epoch fence of {} failed ({}): epoch {} was not returned",
                                    transactionalId, error, md.producerEpoch);
                        }
                        return Result.error(error);
                    }
                    LOG.debug("{} of {} (producer {} epoch {}) written; writing markers to {}", prepared.state(),
                            transactionalId, md.producerId, md.producerEpoch, md.partitions);
                    TxnTransit complete = md.prepareComplete(now());
                    Result answer = new Result(Errors.NONE, md.producerId, md.producerEpoch);
                    sendMarkers(md, complete, commit, coordinatorEpoch);
                    return answer;
                });
            }
            case COMPLETE_COMMIT -> {
                return Future.succeededFuture(commit ? new Result(Errors.NONE, md.producerId, md.producerEpoch)
                        : Result.error(Errors.INVALID_TXN_STATE));
            }
            case COMPLETE_ABORT -> {
                return Future.succeededFuture(!commit ? new Result(Errors.NONE, md.producerId, md.producerEpoch)
                        : Result.error(Errors.INVALID_TXN_STATE));
            }
            case PREPARE_COMMIT -> {
                return Future.succeededFuture(Result.error(commit ? Errors.CONCURRENT_TRANSACTIONS
                        : Errors.INVALID_TXN_STATE));
            }
            case PREPARE_ABORT -> {
                return Future.succeededFuture(Result.error(!commit ? Errors.CONCURRENT_TRANSACTIONS
                        : Errors.INVALID_TXN_STATE));
            }
            case EMPTY -> {
                return Future.succeededFuture(Result.error(Errors.INVALID_TXN_STATE));
            }
            default -> throw new IllegalStateException("Transactional id " + transactionalId + " in state "
                    + md.state);
        }
    }

    private static boolean endTxnEpochBumped(TransactionMetadata md, short producerEpoch) {
        return md.pendingState != TransactionState.PREPARE_EPOCH_FENCE && md.epochBumpEveryEnd()
                && md.producerEpoch == producerEpoch + 1;
    }

    /**
     * Has the markers of a transaction written (its pending transition to Complete* set), then writes the
     * completion; retried until written unless the partition moves away.
     */
    private void sendMarkers(TransactionMetadata md, TxnTransit complete, boolean commit, int coordinatorEpoch) {
        String id = md.transactionalId;
        MarkerJob job = new MarkerJob(id, partitionFor(id), md.producerId, md.producerEpoch, commit,
                coordinatorEpoch, md.clientTransactionVersion, md.partitions);
        Promise<Void> completed = Promise.promise();
        md.pendingDone = completed.future();
        markers.write(job).onComplete(ar -> context.runOnContext(v -> {
            if (ar.failed()) {
                completed.tryComplete();
                LOG.info("Markers of {} abandoned: {}", id, ar.cause().toString());
                if (txns.get(id) == md && md.pendingState == complete.state()) {
                    md.pendingState = null;
                }
                return;
            }
            writeComplete(md, complete, coordinatorEpoch, completed);
        }));
    }

    private void writeComplete(TransactionMetadata md, TxnTransit complete, int coordinatorEpoch,
                               Promise<Void> completed) {
        String id = md.transactionalId;
        if (!stillOwned(id, coordinatorEpoch) || txns.get(id) != md) {
            completed.tryComplete();
            return;
        }
        append(md, complete, coordinatorEpoch).onSuccess(e -> {
            if (e == Errors.NONE) {
                completed.tryComplete();
                LOG.debug("Completed the transaction of {}: {}", id, complete.state());
                return;
            }
            if (e == Errors.NOT_COORDINATOR || !stillOwned(id, coordinatorEpoch) || txns.get(id) != md) {
                completed.tryComplete();
                return;
            }
            // the markers are written: the completion must be too (Kafka retries it the same way)
            LOG.info("Writing {} of {} failed ({}); retrying", complete.state(), id, e);
            md.pendingState = complete.state();
            vertx.setTimer(RETRY_MS, t -> context.runOnContext(v -> {
                md.pendingState = null;
                if (txns.get(id) == md && (md.state == TransactionState.PREPARE_COMMIT
                        || md.state == TransactionState.PREPARE_ABORT)) {
                    writeComplete(md, md.prepareComplete(now()), coordinatorEpoch, completed);
                }
            }));
        });
    }

    // ---------------------------------------------------------------- timeouts and expiry

    private void abortTimedOutTransactions() {
        long now = now();
        for (TransactionMetadata md : new ArrayList<>(txns.values())) {
            if (md.state != TransactionState.ONGOING || md.pendingTransitionInProgress()
                    || md.txnStartTimestamp + md.txnTimeoutMs >= now) {
                continue;
            }
            Partition p = partitions.get(partitionFor(md.transactionalId));
            if (p == null || p.loading) {
                continue;
            }
            LOG.info("Aborting the transaction of {} (producer {} epoch {}): older than its timeout of {} ms",
                    md.transactionalId, md.producerId, md.producerEpoch, md.txnTimeoutMs);
            TxnTransit fence = md.prepareFenceProducerEpoch();
            endTransaction(md.transactionalId, fence.producerId(), fence.producerEpoch(), false, false,
                    config.serverTransactionVersion(), RecordBatch.NO_PRODUCER_ID).onSuccess(r -> {
                        if (r.error() != Errors.NONE) {
                            LOG.info("Rollback of the timed-out transaction of {} failed: {}", md.transactionalId,
                                    r.error());
                        }
                    });
        }
    }

    /** Visible for tests: runs the timeout check now. */
    public Future<Void> abortTimedOutNow() {
        return call(() -> {
            abortTimedOutTransactions();
            return Future.succeededFuture();
        });
    }

    private void expireTransactionalIds() {
        long now = now();
        for (TransactionMetadata md : new ArrayList<>(txns.values())) {
            if (!md.state.expirationAllowed() || md.pendingTransitionInProgress()
                    || md.txnLastUpdateTimestamp + config.transactionalIdExpirationMs() > now) {
                continue;
            }
            Partition p = partitions.get(partitionFor(md.transactionalId));
            if (p == null || p.loading) {
                continue;
            }
            TxnTransit dead = md.prepareDead();
            append(md, dead, p.coordinatorEpoch).onSuccess(e -> {
                if (e == Errors.NONE) {
                    LOG.info("Expired transactional id {}: idle for {} ms", md.transactionalId,
                            config.transactionalIdExpirationMs());
                }
            });
        }
    }

    /** Visible for tests: runs the expiry now. */
    public Future<Void> expireNow() {
        return call(() -> {
            expireTransactionalIds();
            return Future.succeededFuture();
        });
    }

    // ---------------------------------------------------------------- admin

    /** DescribeTransactions of one id, as Kafka answers it. */
    public Future<DescribeTransactionsResponseData.TransactionState> describe(String transactionalId) {
        return call(() -> {
            DescribeTransactionsResponseData.TransactionState out = new DescribeTransactionsResponseData
                    .TransactionState().setTransactionalId(transactionalId);
            if (transactionalId == null || transactionalId.isEmpty()) {
                return Future.succeededFuture(out.setErrorCode(Errors.INVALID_REQUEST.code()));
            }
            Errors e = partitionError(transactionalId);
            if (e != Errors.NONE) {
                return Future.succeededFuture(out.setErrorCode(e.code()));
            }
            TransactionMetadata md = txns.get(transactionalId);
            if (md == null || md.state == TransactionState.DEAD) {
                return Future.succeededFuture(out.setErrorCode(Errors.TRANSACTIONAL_ID_NOT_FOUND.code()));
            }
            for (TopicPartition tp : md.partitions) {
                DescribeTransactionsResponseData.TopicData td = out.topics().find(tp.topic());
                if (td == null) {
                    td = new DescribeTransactionsResponseData.TopicData().setTopic(tp.topic());
                    out.topics().add(td);
                }
                td.partitions().add(tp.partition());
            }
            return Future.succeededFuture(out.setErrorCode(Errors.NONE.code()).setProducerId(md.producerId)
                    .setProducerEpoch(md.producerEpoch).setTransactionState(md.state.kafkaName)
                    .setTransactionTimeoutMs(md.txnTimeoutMs).setTransactionStartTimeMs(md.txnStartTimestamp));
        });
    }

    /**
     * ListTransactions over the ids this coordinator serves, with Kafka's filters (states by name, producer ids,
     * running longer than {@code durationMs}, transactional id pattern); {@code visible} says which ids the caller
     * may see (DESCRIBE).
     */
    public Future<ListTransactionsResponseData> list(List<String> stateFilters, Set<Long> producerIds,
                                                     long durationMs, String idPattern,
                                                     java.util.function.Predicate<String> visible) {
        return call(() -> {
            ListTransactionsResponseData out = new ListTransactionsResponseData();
            if (closed) {
                return Future.succeededFuture(out.setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code()));
            }
            if (partitions.values().stream().anyMatch(p -> p.loading)) {
                return Future.succeededFuture(out.setErrorCode(Errors.COORDINATOR_LOAD_IN_PROGRESS.code()));
            }
            Set<TransactionState> states = new HashSet<>();
            for (String s : stateFilters) {
                TransactionState st = TransactionState.fromName(s);
                if (st == null) {
                    out.unknownStateFilters().add(s);
                } else {
                    states.add(st);
                }
            }
            Pattern pattern;
            try {
                pattern = idPattern == null || idPattern.isEmpty() ? null : Pattern.compile(idPattern);
            } catch (java.util.regex.PatternSyntaxException ex) {
                return Future.succeededFuture(out.setErrorCode(Errors.INVALID_REGULAR_EXPRESSION.code()));
            }
            if (!out.unknownStateFilters().isEmpty() && states.isEmpty()) {
                return Future.succeededFuture(out.setErrorCode(Errors.NONE.code()));
            }
            long now = now();
            for (TransactionMetadata md : txns.values()) {
                if (md.state == TransactionState.DEAD
                        || (!states.isEmpty() && !states.contains(md.state))
                        || (!producerIds.isEmpty() && !producerIds.contains(md.producerId))
                        || (durationMs >= 0 && (md.txnStartTimestamp < 0 || now - md.txnStartTimestamp <= durationMs))
                        || (pattern != null && !pattern.matcher(md.transactionalId).matches())
                        || !visible.test(md.transactionalId)) {
                    continue;
                }
                out.transactionStates().add(new ListTransactionsResponseData.TransactionState()
                        .setTransactionalId(md.transactionalId).setProducerId(md.producerId)
                        .setTransactionState(md.state.kafkaName));
            }
            return Future.succeededFuture(out.setErrorCode(Errors.NONE.code()));
        });
    }

    /** Every transactional id served here, for the admin API. Any thread. */
    public Future<List<TransactionMetadata>> snapshot() {
        return call(() -> Future.succeededFuture(new ArrayList<>(txns.values())));
    }

    // ---------------------------------------------------------------- plumbing

    private <T> Future<T> call(Supplier<Future<T>> op) {
        Promise<T> promise = Promise.promise();
        context.runOnContext(v -> {
            try {
                op.get().onComplete(promise);
            } catch (RuntimeException e) {
                LOG.error("Transaction coordinator operation failed", e);
                promise.fail(e);
            }
        });
        return promise.future();
    }

    /** Continues on the coordinator's context (futures of the id allocator complete elsewhere). */
    private <T> Future<T> onContext(Supplier<Future<T>> op) {
        return call(op);
    }

    private long now() {
        return time.milliseconds();
    }
}
