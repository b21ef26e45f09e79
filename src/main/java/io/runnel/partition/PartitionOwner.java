package io.runnel.partition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.runnel.cluster.PartitionState;
import io.runnel.log.AppendOrigin;
import io.runnel.log.LogAppendResult;
import io.runnel.log.LogReadResult;
import io.runnel.log.PartitionLog;
import io.runnel.log.RecordSet;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.NotEnoughReplicasAfterAppendException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The owner of one hosted partition. Writes run on its worker context (a log shard), one at a time,
 * where waiting on the disk is allowed; reads come from any thread through the log's lock-free read
 * path, capped at the high watermark. Fetches that wait for data register a {@link Runnable} that is
 * run (on the appender's thread: it must only hop to its own context) after every append and every
 * high-watermark advance.
 *
 * <p>Roles follow the {@link PartitionState} the controller hands over ({@link #applyState}): a leader
 * accepts produce, tracks each follower's log end and last caught-up time from its fetches, advances the
 * high watermark to the smallest log end over the (maximal) ISR, never while the committed ISR is below
 * min.insync.replicas, and asks the controller to expand or shrink the ISR; a follower refuses produce
 * (NOT_LEADER_OR_FOLLOWER) and is fed by a replica fetcher. Standalone, the partition is its own only
 * replica and everything appended is committed at once, as before replication existed.
 *
 * <p>Threading: role, follower progress, pending acks=all produces and ISR proposals are touched on the
 * owner's context only; {@link #state()}, {@link #leaderEpoch()}, {@link #highWatermark()} and
 * {@link #isLeader()} are volatile reads for any thread.
 */
public final class PartitionOwner {

    private static final Logger LOG = LoggerFactory.getLogger(PartitionOwner.class);

    private final TopicPartition tp;
    private final Uuid topicId;
    private final Context context;
    private final PartitionLog log;
    private final Replication replication;
    // what waits for this partition to change; TRUE marks a follower's parked fetch, which only the log end,
    // the role or closing can complete (it reads to the log end), so a high watermark advance alone skips it
    private final Map<Runnable, Boolean> appendListeners = new ConcurrentHashMap<>();
    // told when this replica starts or stops leading; set once by the partition manager
    private volatile LeadershipListener leadershipListener;
    private volatile PartitionState state;
    private volatile boolean leader;
    private volatile int leaderEpoch;
    private volatile long highWatermark;
    private volatile long leaderEpochStartOffset = -1;
    private volatile int minInsyncReplicas;
    private volatile boolean closed;
    // appends waiting for the next group fsync; owner context only
    private final List<FlushWaiter> awaitingFlush = new ArrayList<>();
    private boolean flushScheduled;
    private boolean rollFlushScheduled;
    // leader only, owner context only
    private final Map<Integer, FollowerProgress> followers = new HashMap<>();
    private final List<PendingAck> pendingAcks = new ArrayList<>();
    private PartitionState proposedIsr;
    private long shrinkTimer = -1;

    PartitionOwner(TopicPartition tp, Uuid topicId, Context context, PartitionLog log, int leaderEpoch,
                   int minInsyncReplicas) {
        this(tp, topicId, context, log, leaderEpoch, minInsyncReplicas, 0);
    }

    /** A standalone owner on node {@code nodeId}: its own only replica, leader at {@code leaderEpoch}. */
    PartitionOwner(TopicPartition tp, Uuid topicId, Context context, PartitionLog log, int leaderEpoch,
                   int minInsyncReplicas, int nodeId) {
        this(tp, topicId, context, log, minInsyncReplicas, null);
        this.state = new PartitionState(nodeId, leaderEpoch, List.of(nodeId), List.of(nodeId), 0);
        this.leader = true;
        this.leaderEpoch = leaderEpoch;
        // a single replica is the whole ISR: everything in the log is committed
        this.highWatermark = log.logEndOffset();
        // the transactions the load replayed are closed below it: they no longer hold the LSO back
        log.onHighWatermarkUpdated(highWatermark);
    }

    /**
     * A replicated owner with no role yet: it refuses produce and fetch until {@link #applyState}.
     */
    PartitionOwner(TopicPartition tp, Uuid topicId, Context context, PartitionLog log, int minInsyncReplicas,
                   Replication replication) {
        this(tp, topicId, context, log, minInsyncReplicas, replication, -1);
    }

    /**
     * A replicated owner with no role yet, its high watermark starting at {@code checkpointedHighWatermark}
     * (the replication-offset-checkpoint's, -1 for none) kept within the log start and end, as Kafka
     * starts a partition after a restart: it was committed when written, and a log that lost its tail
     * (no fsync before a crash) cannot claim more than it holds. Without a checkpoint, the log start: a
     * safe lower bound that the leader's fetch answers raise.
     */
    PartitionOwner(TopicPartition tp, Uuid topicId, Context context, PartitionLog log, int minInsyncReplicas,
                   Replication replication, long checkpointedHighWatermark) {
        this.tp = tp;
        this.topicId = topicId;
        this.context = context;
        this.log = log;
        this.minInsyncReplicas = minInsyncReplicas;
        this.replication = replication;
        this.highWatermark = Math.max(log.logStartOffset(), Math.min(checkpointedHighWatermark, log.logEndOffset()));
        // the transactions the load replayed whose marker is below it no longer hold the LSO back (Kafka does
        // the same when it sets the high watermark of a loaded log); the owner is not published yet
        log.onHighWatermarkUpdated(highWatermark);
    }

    public TopicPartition topicPartition() {
        return tp;
    }

    public Uuid topicId() {
        return topicId;
    }

    public PartitionLog log() {
        return log;
    }

    public Context context() {
        return context;
    }

    public int leaderEpoch() {
        return leaderEpoch;
    }

    public long highWatermark() {
        return highWatermark;
    }

    /**
     * The last stable offset: the high watermark, or below it the first offset of the oldest transaction not
     * yet closed by a marker the high watermark has passed. What read_committed consumers may read up to.
     * Any thread.
     */
    public long lastStableOffset() {
        return log.lastStableOffset(highWatermark);
    }

    /** Owner context only: the transactions whose marker it passes stop holding the last stable offset back. */
    private void setHighWatermark(long hw) {
        highWatermark = hw;
        log.onHighWatermarkUpdated(hw);
    }

    /** The state last applied, or null when none has been (a replicated partition before the controller spoke). */
    public PartitionState state() {
        return state;
    }

    public boolean isLeader() {
        return leader && !closed;
    }

    /** Where the current leader epoch started in this log, or -1 (standalone, or not leader). */
    public long leaderEpochStartOffset() {
        return leaderEpochStartOffset;
    }

    public int isrSize() {
        PartitionState s = state;
        return s == null ? 0 : s.isr().size();
    }

    void minInsyncReplicas(int n) {
        this.minInsyncReplicas = n;
        if (replication != null) {
            context.runOnContext(v -> {
                maybeIncrementHighWatermark();
                checkPendingAcks();
            });
        }
    }

    // ------------------------------------------------------------------ roles

    /**
     * Applies a state from the controller (or the answer to this leader's own ISR proposal). States older
     * than the current one (lower partition or leader epoch) are ignored. Completes on the owner's context.
     */
    public Future<Void> applyState(PartitionState newState) {
        if (replication == null) {
            return Future.failedFuture(new IllegalStateException("standalone partition " + tp + " has no replicas"));
        }
        return submit(() -> {
            applyOnContext(newState);
            return null;
        });
    }

    private void applyOnContext(PartitionState s) {
        PartitionState old = state;
        if (closed || old != null && (s.partitionEpoch() < old.partitionEpoch() || s.leaderEpoch() < old.leaderEpoch())) {
            return;
        }
        state = s;
        int me = replication.localNode();
        boolean newEpoch = old == null || s.leaderEpoch() != old.leaderEpoch();
        if (s.leader() == me) {
            if (!leader || newEpoch) {
                becomeLeader(s);
            } else {
                if (proposedIsr != null && s.partitionEpoch() >= proposedIsr.partitionEpoch()) {
                    proposedIsr = null;
                }
                if (maybeIncrementHighWatermark()) {
                    notifyHighWatermarkListeners();
                }
                checkPendingAcks();
            }
        } else if (leader || newEpoch || old.leader() != s.leader() || !old.replicas().equals(s.replicas())) {
            becomeFollower(s);
        }
    }

    private void becomeLeader(PartitionState s) {
        boolean wasLeader = leader;
        long leo = log.logEndOffset();
        LOG.info("{}: leader at epoch {} from offset {}, ISR {}", tp, s.leaderEpoch(), leo, s.isr());
        replication.followers().unfollow(this);
        log.assignEpochStartOffset(s.leaderEpoch(), leo);
        leaderEpochStartOffset = leo;
        leaderEpoch = s.leaderEpoch();
        proposedIsr = null;
        followers.clear();
        long now = replication.time().milliseconds();
        for (int r : s.replicas()) {
            if (r != replication.localNode()) {
                // ISR members get a full lag period to show up before they can be dropped
                followers.put(r, new FollowerProgress(s.isr().contains(r) ? now : 0));
            }
        }
        leader = true;
        if (shrinkTimer < 0) {
            long interval = Math.max(1, replication.replicaLagTimeMaxMs() / 2);
            shrinkTimer = replication.vertx().setPeriodic(interval, id -> context.runOnContext(v -> maybeShrinkIsr()));
        }
        maybeIncrementHighWatermark();
        notifyListeners();
        if (!wasLeader) {
            leadershipChanged(true);
        }
    }

    private void becomeFollower(PartitionState s) {
        LOG.info("{}: follower of {} at epoch {}", tp, s.leader(), s.leaderEpoch());
        boolean wasLeader = leader;
        leader = false;
        leaderEpoch = s.leaderEpoch();
        leaderEpochStartOffset = -1;
        stopLeading(new NotLeaderOrFollowerException("Leadership of " + tp + " moved to broker " + s.leader()));
        if (s.leader() >= 0 && s.replicas().contains(replication.localNode())) {
            replication.followers().follow(this, s.leader());
        } else {
            replication.followers().unfollow(this);
        }
        notifyListeners();
        if (wasLeader) {
            leadershipChanged(false);
        }
    }

    private void stopLeading(RuntimeException reason) {
        followers.clear();
        proposedIsr = null;
        if (shrinkTimer >= 0) {
            replication.vertx().cancelTimer(shrinkTimer);
            shrinkTimer = -1;
        }
        List<PendingAck> waiting = new ArrayList<>(pendingAcks);
        pendingAcks.clear();
        waiting.forEach(p -> p.fail(reason));
    }

    // ------------------------------------------------------------------ leader: followers, ISR, high watermark

    /** A follower as its leader sees it. Owner context only. */
    private static final class FollowerProgress {
        long logEndOffset = -1;
        long lastCaughtUpTimeMs;
        long lastFetchLeaderLogEndOffset;
        long lastFetchTimeMs;

        FollowerProgress(long lastCaughtUpTimeMs) {
            this.lastCaughtUpTimeMs = lastCaughtUpTimeMs;
        }

        boolean caughtUp(long leaderLogEnd, long now, long maxLagMs) {
            return logEndOffset == leaderLogEnd || now - lastCaughtUpTimeMs <= maxLagMs;
        }
    }

    /**
     * Records a follower's fetch (its fetch offset is its log end), as Kafka's updateFollowerFetchState:
     * it counts as caught up at this fetch if it asked for the leader's log end, or at its previous fetch
     * if it has now reached the log end the leader had then. May expand the ISR and advance the high
     * watermark. Any thread; runs on the owner's context.
     */
    public void recordFollowerFetch(int replicaId, long fetchOffset, long leaderLogEndAtRead, long fetchTimeMs) {
        context.runOnContext(v -> {
            FollowerProgress p = followers.get(replicaId);
            if (!leader || closed || p == null) {
                return;
            }
            if (fetchOffset >= leaderLogEndAtRead) {
                p.lastCaughtUpTimeMs = Math.max(p.lastCaughtUpTimeMs, fetchTimeMs);
            } else if (fetchOffset >= p.lastFetchLeaderLogEndOffset) {
                p.lastCaughtUpTimeMs = Math.max(p.lastCaughtUpTimeMs, p.lastFetchTimeMs);
            }
            p.logEndOffset = Math.min(fetchOffset, log.logEndOffset());
            p.lastFetchLeaderLogEndOffset = leaderLogEndAtRead;
            p.lastFetchTimeMs = fetchTimeMs;
            maybeExpandIsr(replicaId, p);
            if (maybeIncrementHighWatermark()) {
                notifyHighWatermarkListeners();
            }
            checkPendingAcks();
        });
    }

    /**
     * Whether {@code replica} is in the committed ISR or one a pending proposal adds: the set the high watermark
     * waits for. Asked per follower on every append, so it builds no set.
     */
    private boolean inMaximalIsr(int replica) {
        return state.isr().contains(replica) || proposedIsr != null && proposedIsr.isr().contains(replica);
    }

    /** How many replicas {@link #inMaximalIsr} counts. */
    private int maximalIsrSize() {
        int size = state.isr().size();
        if (proposedIsr != null) {
            for (int replica : proposedIsr.isr()) {
                if (!state.isr().contains(replica)) {
                    size++;
                }
            }
        }
        return size;
    }

    private boolean maybeIncrementHighWatermark() {
        if (!leader || closed || state.isr().size() < minInsyncReplicas) {
            return false;
        }
        long leo = log.logEndOffset();
        long newHw = leo;
        long now = replication.time().milliseconds();
        for (Map.Entry<Integer, FollowerProgress> e : followers.entrySet()) {
            FollowerProgress p = e.getValue();
            // a caught-up follower outside the ISR holds the high watermark back so that it can join, but
            // only one that may join (Kafka's isReplicaIsrEligible): a broker the controller fenced (cut off,
            // paused, gone) would otherwise hold every acks=all write for replica.lag.time.max.ms
            boolean counts = inMaximalIsr(e.getKey()) || p.caughtUp(leo, now, replication.replicaLagTimeMaxMs())
                    && replication.changer().eligibleForIsr(tp, e.getKey());
            if (counts && p.logEndOffset < newHw) {
                newHw = p.logEndOffset;
            }
        }
        if (newHw > highWatermark) {
            setHighWatermark(newHw);
            return true;
        }
        return false;
    }

    /**
     * Members of the committed ISR that this leader sees in sync now: itself, and each follower that has
     * caught up within replica.lag.time.max.ms. Kafka checks the committed ISR alone at append time, which
     * is the same once the controller has committed the leader's shrink; here the shrink needs a majority
     * of the cluster (a compare-and-set through Hazelcast), and with two of three brokers frozen there is
     * none, so the committed ISR would stay full and acks=all would time out instead of being refused.
     * Refusing on the leader's own knowledge only ever refuses more, so it cannot lose a write.
     * Owner context only.
     */
    private int inSyncReplicaCount() {
        PartitionState s = state;
        if (s == null) {
            return 0;
        }
        if (replication == null) {
            return s.isr().size();
        }
        long leo = log.logEndOffset();
        long now = replication.time().milliseconds();
        int n = 0;
        for (int r : s.isr()) {
            FollowerProgress p = followers.get(r);
            if (r == replication.localNode() || p != null && p.caughtUp(leo, now, replication.replicaLagTimeMaxMs())) {
                n++;
            }
        }
        return n;
    }

    private void maybeExpandIsr(int replicaId, FollowerProgress p) {
        if (proposedIsr != null || state.isr().contains(replicaId) || !replication.changer().eligibleForIsr(tp, replicaId)) {
            return;
        }
        if (p.logEndOffset >= highWatermark && p.logEndOffset >= leaderEpochStartOffset) {
            List<Integer> isr = new ArrayList<>(state.isr());
            isr.add(replicaId);
            propose(state.withIsr(isr));
        }
    }

    private void maybeShrinkIsr() {
        if (!leader || closed || proposedIsr != null) {
            return;
        }
        long leo = log.logEndOffset();
        long now = replication.time().milliseconds();
        List<Integer> isr = new ArrayList<>();
        boolean shrink = false;
        for (int r : state.isr()) {
            FollowerProgress p = followers.get(r);
            if (r != replication.localNode() && (p == null || !p.caughtUp(leo, now, replication.replicaLagTimeMaxMs()))) {
                shrink = true;
            } else {
                isr.add(r);
            }
        }
        if (shrink) {
            LOG.info("{}: shrinking ISR from {} to {}", tp, state.isr(), isr);
            propose(state.withIsr(isr));
        }
    }

    /** One ISR change in flight at a time, like Kafka's pending AlterPartition. */
    private void propose(PartitionState proposed) {
        PartitionState expected = state;
        proposedIsr = proposed;
        replication.changer().alterPartition(tp, expected, proposed).onComplete(ar -> context.runOnContext(v -> {
            if (proposedIsr == proposed) {
                proposedIsr = null;
            }
            if (ar.succeeded()) {
                applyOnContext(ar.result());
            } else {
                // the controller pushes whatever state now holds; the next fetch or timer tick retries
                LOG.info("{}: ISR change to {} refused: {}", tp, proposed.isr(), ar.cause().toString());
                if (maybeIncrementHighWatermark()) {
                    notifyHighWatermarkListeners();
                }
                checkPendingAcks();
            }
        }));
    }

    // ------------------------------------------------------------------ produce

    /** Appends with no bound on an acks=all wait (tests, internal callers). */
    public Future<LogAppendResult> append(RecordSet records, short acks) {
        return append(records, acks, Long.MAX_VALUE);
    }

    /**
     * Appends a producer's records as leader. With acks=all on a replicated partition the result waits
     * until the high watermark passes the batch (REQUEST_TIMED_OUT after {@code timeoutMs}, and
     * NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR falls below min.insync.replicas meanwhile). Completes
     * on the owner's worker thread; the caller hops back to its own context.
     */
    public Future<LogAppendResult> append(RecordSet records, short acks, long timeoutMs) {
        return append(records, acks, timeoutMs, AppendOrigin.CLIENT);
    }

    /**
     * As {@link #append(RecordSet, short, long)} for an append of {@code origin}: a coordinator's (transaction
     * markers through WriteTxnMarkers, the group coordinator's records) may hold control batches and has no
     * sequence checked.
     */
    public Future<LogAppendResult> append(RecordSet records, short acks, long timeoutMs, AppendOrigin origin) {
        return append(records, acks, timeoutMs, origin, (short) 0);
    }

    /**
     * As {@link #append(RecordSet, short, long, AppendOrigin)} at {@code transactionVersion} (see
     * {@link PartitionLog#appendAsLeader(RecordSet, int, AppendOrigin, short)}): that of a WriteTxnMarkers marker,
     * or 2 for a client's batch whose partition this leader added to its transaction.
     */
    public Future<LogAppendResult> append(RecordSet records, short acks, long timeoutMs, AppendOrigin origin,
                                          short transactionVersion) {
        Promise<LogAppendResult> promise = Promise.promise();
        context.runOnContext(v -> {
            try {
                if (closed) {
                    throw new NotLeaderOrFollowerException("partition " + tp + " is no longer hosted here");
                }
                if (!leader) {
                    throw new NotLeaderOrFollowerException("This broker is not the leader of " + tp);
                }
                if (acks == -1 && inSyncReplicaCount() < minInsyncReplicas) {
                    if (replication != null && replication.quorumContactLost().getAsBoolean()) {
                        // cut off: the controller has most likely fenced this broker and elected another leader,
                        // which a client finds only if told to refresh its metadata
                        throw new NotLeaderOrFollowerException("Broker " + replication.localNode() + " has been out of"
                                + " touch with the metadata quorum for longer than broker.session.timeout.ms and has too few"
                                + " in-sync replicas for " + tp + ": its leadership has probably moved");
                    }
                    throw new NotEnoughReplicasException("The in-sync replicas of " + tp + " (ISR " + state.isr()
                            + ", of which " + inSyncReplicaCount() + " caught up within replica.lag.time.max.ms)"
                            + " are fewer than min.insync.replicas=" + minInsyncReplicas);
                }
                LogAppendResult result = log.appendAsLeader(records, leaderEpoch, origin, transactionVersion);
                if (!log.flushDue()) {
                    // queued now, so it runs after this task and before anything its answer sets off; a due
                    // flush (the group commit below) covers the rolled segments itself
                    maybeFlushRolledSegments();
                }
                if (!result.duplicate()) {
                    if (replication == null) {
                        setHighWatermark(log.logEndOffset());
                    } else {
                        maybeIncrementHighWatermark();
                    }
                    notifyListeners();
                }
                Promise<LogAppendResult> local = promise;
                if (replication != null && acks == -1) {
                    local = Promise.promise();
                    local.future().onComplete(ar -> {
                        if (ar.failed()) {
                            promise.fail(ar.cause());
                        } else {
                            awaitHighWatermark(new PendingAck(promise, ar.result(), ar.result().lastOffset() + 1), timeoutMs);
                        }
                    });
                }
                if (log.flushDue()) {
                    awaitFlush(new FlushWaiter(local, result));
                } else {
                    local.complete(result);
                }
            } catch (Throwable t) {
                promise.fail(t);
            }
        });
        return promise.future();
    }

    /** An acks=all produce waiting for the high watermark to reach {@code requiredOffset}. Owner context only. */
    private final class PendingAck {
        final Promise<LogAppendResult> promise;
        final LogAppendResult result;
        final long requiredOffset;
        long timer = -1;

        PendingAck(Promise<LogAppendResult> promise, LogAppendResult result, long requiredOffset) {
            this.promise = promise;
            this.result = result;
            this.requiredOffset = requiredOffset;
        }

        void fail(Throwable t) {
            if (timer >= 0) {
                replication.vertx().cancelTimer(timer);
            }
            promise.tryFail(t);
        }

        void complete() {
            if (timer >= 0) {
                replication.vertx().cancelTimer(timer);
            }
            promise.tryComplete(result);
        }
    }

    private void awaitHighWatermark(PendingAck ack, long timeoutMs) {
        if (!leader || closed) {
            ack.fail(new NotLeaderOrFollowerException("This broker is no longer the leader of " + tp));
            return;
        }
        if (highWatermark >= ack.requiredOffset) {
            // already committed (a single replica, or followers ahead): answered now, as Kafka's
            // tryCompleteElseWatch, without a pending entry or a timeout timer scheduled and cancelled per append;
            // earlier waiting produces the high watermark now covers too are answered first, in offset order
            checkPendingAcks();
            if (maximalIsrSize() >= minInsyncReplicas) {
                ack.complete();
            } else {
                ack.fail(afterAppend());
            }
            return;
        }
        pendingAcks.add(ack);
        if (timeoutMs < Long.MAX_VALUE / 2) {
            ack.timer = replication.vertx().setTimer(Math.max(1, timeoutMs), id -> context.runOnContext(v -> {
                ack.timer = -1;
                if (pendingAcks.remove(ack)) {
                    ack.fail(new TimeoutException("acks=all for " + tp + " not satisfied within " + timeoutMs + " ms"));
                }
            }));
        }
        checkPendingAcks();
    }

    /** Kafka's checkEnoughReplicasReachOffset, over every waiting produce. Owner context only. */
    private void checkPendingAcks() {
        if (pendingAcks.isEmpty()) {
            return;
        }
        boolean underMinIsr = state.isr().size() < minInsyncReplicas;
        int maximal = maximalIsrSize();
        for (Iterator<PendingAck> it = pendingAcks.iterator(); it.hasNext(); ) {
            PendingAck ack = it.next();
            if (highWatermark >= ack.requiredOffset) {
                it.remove();
                if (maximal >= minInsyncReplicas) {
                    ack.complete();
                } else {
                    ack.fail(afterAppend());
                }
            } else if (underMinIsr) {
                it.remove();
                ack.fail(afterAppend());
            }
        }
    }

    private NotEnoughReplicasAfterAppendException afterAppend() {
        return new NotEnoughReplicasAfterAppendException("The ISR " + state.isr() + " of " + tp
                + " fell below min.insync.replicas=" + minInsyncReplicas + " after the append");
    }

    /** An acknowledgement held back until the next group fsync. */
    private record FlushWaiter(Promise<LogAppendResult> promise, LogAppendResult result) {
    }

    /**
     * Group commit: appends that need an fsync (flush.messages / flush.ms) wait for one flush that runs
     * after every append already queued on this context, so a burst of appends shares one fsync.
     * Owner context only.
     */
    private void awaitFlush(FlushWaiter waiter) {
        awaitingFlush.add(waiter);
        if (!flushScheduled) {
            flushScheduled = true;
            context.runOnContext(v -> groupFlush());
        }
    }

    private void groupFlush() {
        flushScheduled = false;
        List<FlushWaiter> waiters = new ArrayList<>(awaitingFlush);
        awaitingFlush.clear();
        try {
            log.flush();
        } catch (Throwable t) {
            waiters.forEach(w -> w.promise().fail(t));
            return;
        }
        waiters.forEach(w -> w.promise().complete(w.result()));
    }

    /**
     * After an append that rolled the log: the segments below the new active one are forced and the recovery
     * point moves to its base offset ({@link PartitionLog#flushRolledSegments}), in a task of its own on this
     * context, so the append that rolled is answered first, as Kafka flushes them from a scheduler after
     * {@code roll}. A flush.messages / flush.ms flush that runs first covers them. Owner context only.
     */
    private void maybeFlushRolledSegments() {
        if (rollFlushScheduled || !log.rollFlushDue()) {
            return;
        }
        rollFlushScheduled = true;
        context.runOnContext(v -> {
            rollFlushScheduled = false;
            if (closed || !log.rollFlushDue()) {
                return;
            }
            try {
                log.flushRolledSegments();
            } catch (RuntimeException e) {
                // the log is offline now (StorageErrors); the next write reports it
                LOG.warn("{}: flushing the segments below the new active one failed", tp, e);
            }
        });
    }

    // ------------------------------------------------------------------ follower

    /**
     * Appends what the leader returned to a follower fetch at {@code fetchOffset}, flushing it when
     * flush.messages or flush.ms say so (as a leader's appends), then sets the follower
     * high watermark to min(leader's, own log end). Skipped (returns false) if this replica is no longer
     * a follower at {@code leaderEpoch} or its log end moved meanwhile. Owner context only.
     */
    public boolean appendAsFollower(int expectedLeaderEpoch, long fetchOffset, RecordSet records,
                                    long leaderHighWatermark, long leaderLogStartOffset) {
        if (closed || leader || leaderEpoch != expectedLeaderEpoch || log.logEndOffset() != fetchOffset) {
            return false;
        }
        if (records.sizeInBytes() > 0) {
            log.appendAsFollower(records);
            // the leader's flush.messages / flush.ms policy, as Kafka's append applies it to both roles; here,
            // before the next fetch reports the new log end, so with flush.messages=1 the high watermark only
            // passes records that every in-sync replica has forced to disk
            if (log.flushDue()) {
                log.flush();
            } else {
                maybeFlushRolledSegments();
            }
        }
        long leo = log.logEndOffset();
        long hw = Math.max(Math.min(leaderHighWatermark, leo), log.logStartOffset());
        if (leaderLogStartOffset > log.logStartOffset() && leaderLogStartOffset <= hw) {
            log.deleteRecordsBefore(leaderLogStartOffset);
        }
        setHighWatermark(hw);
        notifyListeners();
        return true;
    }

    /**
     * Truncates a follower's log to {@code offset} (divergence found by leader epoch, or below the
     * leader's log start), keeping the high watermark at or below the new end. Owner context only.
     */
    public void truncateAsFollower(long offset) {
        if (offset < log.logStartOffset()) {
            log.truncateFullyAndStartAt(offset);
        } else {
            log.truncateTo(offset);
        }
        setHighWatermark(Math.min(highWatermark, log.logEndOffset()));
        notifyListeners();
    }

    /** Restarts a follower's log at the leader's log start, which is past this log's end. Owner context only. */
    public void restartAsFollowerAt(long offset) {
        log.truncateFullyAndStartAt(offset);
        setHighWatermark(offset);
        notifyListeners();
    }

    // ------------------------------------------------------------------ reads

    /** Reads committed data (below the high watermark); any thread. */
    public LogReadResult read(long offset, int maxBytes, boolean minOneMessage) {
        return read(offset, maxBytes, minOneMessage, true);
    }

    /**
     * Reads committed data; without {@code mayOpen} (on an event loop) a closed segment file is not reopened
     * but throws {@link io.runnel.log.SegmentClosedException}. Any thread.
     */
    public LogReadResult read(long offset, int maxBytes, boolean minOneMessage, boolean mayOpen) {
        return log.read(offset, maxBytes, highWatermark, minOneMessage, false, mayOpen);
    }

    /**
     * Reads stable data (below the last stable offset) for a read_committed consumer, with the aborted
     * transactions of the range; without {@code mayOpen} as {@link #read(long, int, boolean, boolean)}. Any thread.
     */
    public LogReadResult readCommitted(long offset, int maxBytes, boolean minOneMessage, boolean mayOpen) {
        return log.read(offset, maxBytes, lastStableOffset(), minOneMessage, true, mayOpen);
    }

    /** The producers of this partition with their open transactions (DescribeProducers); completes on the owner. */
    public Future<List<PartitionLog.ProducerStateView>> activeProducers() {
        return submit(log::activeProducers);
    }

    /** Whether the producer has a transaction open in this partition at {@code epoch}; any thread. */
    public Future<Boolean> hasOngoingTransaction(long producerId, short epoch) {
        return submit(() -> log.hasOngoingTransaction(producerId, epoch));
    }

    /** Reads up to the log end, for a follower's fetch; any thread. */
    public LogReadResult readForReplica(long offset, int maxBytes, boolean minOneMessage) {
        return readForReplica(offset, maxBytes, minOneMessage, true);
    }

    /** Reads up to the log end for a follower; without {@code mayOpen} as {@link #read(long, int, boolean, boolean)}. */
    public LogReadResult readForReplica(long offset, int maxBytes, boolean minOneMessage, boolean mayOpen) {
        return log.read(offset, maxBytes, log.logEndOffset(), minOneMessage, false, mayOpen);
    }

    /** Runs {@code task} on the owner's context and completes with its result. */
    public <T> Future<T> submit(java.util.concurrent.Callable<T> task) {
        return io.runnel.server.OnContext.call(context, task);
    }

    /** Called on the owner's context after the log start moved or the log changed otherwise. */
    void afterLogChange() {
        setHighWatermark(Math.max(Math.min(highWatermark, log.logEndOffset()), log.logStartOffset()));
        // retention may have rolled the log
        maybeFlushRolledSegments();
        notifyListeners();
    }

    /** Runs {@code listener} (on the owner's context) whenever the log, the high watermark or the role changes. */
    public void addAppendListener(Runnable listener) {
        appendListeners.put(listener, Boolean.FALSE);
    }

    /**
     * As {@link #addAppendListener}, for a follower's parked fetch: not run when only the high watermark
     * advanced, which gives it nothing to read (as Kafka's DelayedFetch for a follower, which counts bytes up to
     * the log end). Every follower fetch advances the high watermark under an acks=all load, so waking the other
     * followers' parked fetches for it cost a hop to their connection and a re-read per fetch, for nothing.
     */
    public void addLogEndListener(Runnable listener) {
        appendListeners.put(listener, Boolean.TRUE);
    }

    public void removeAppendListener(Runnable listener) {
        appendListeners.remove(listener);
    }

    private void notifyListeners() {
        for (Runnable r : appendListeners.keySet()) {
            r.run();
        }
    }

    /** After the high watermark alone advanced: wakes what reads up to it, not followers' parked fetches. */
    private void notifyHighWatermarkListeners() {
        for (Map.Entry<Runnable, Boolean> e : appendListeners.entrySet()) {
            if (!e.getValue()) {
                e.getKey().run();
            }
        }
    }

    /** Owner context only. */
    void markClosed() {
        markClosed(new NotLeaderOrFollowerException("partition " + tp + " is no longer hosted here"));
    }

    /** As {@link #markClosed()}, failing waiting acks=all produces with {@code reason}. Owner context only. */
    void markClosed(RuntimeException reason) {
        boolean wasLeader = leader && !closed;
        closed = true;
        if (replication != null) {
            replication.followers().unfollow(this);
            stopLeading(reason);
        }
        notifyListeners();
        if (wasLeader) {
            leadershipChanged(false);
        }
    }

    /** What wants to know when a hosted replica starts or stops leading (the group coordinator). */
    @FunctionalInterface
    public interface LeadershipListener {
        /**
         * Called on the owner's context, after the role changed; must not block: hop onto a context of
         * your own.
         */
        void onLeadershipChange(PartitionOwner owner, boolean leader);
    }

    /** Sets the listener; a standalone owner, leader from the start, tells it at once. */
    void leadershipListener(LeadershipListener listener) {
        this.leadershipListener = listener;
    }

    void leadershipChanged(boolean nowLeader) {
        LeadershipListener l = leadershipListener;
        if (l == null) {
            return;
        }
        try {
            l.onLeadershipChange(this, nowLeader);
        } catch (RuntimeException e) {
            LOG.warn("{}: leadership listener failed", tp, e);
        }
    }

    public boolean isClosed() {
        return closed;
    }
}
