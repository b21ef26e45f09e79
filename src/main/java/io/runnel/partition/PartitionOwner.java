package io.runnel.partition;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.runnel.log.LogAppendResult;
import io.runnel.log.LogReadResult;
import io.runnel.log.PartitionLog;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.record.MemoryRecords;

/**
 * The owner of one hosted partition. Writes run on its worker context (a log shard), one at a time,
 * where waiting on the disk is allowed; reads come from any thread through the log's lock-free read
 * path, capped at the high watermark. Fetches that wait for data register a {@link Runnable} that is
 * run (on the appender's thread: it must only hop to its own context) after every append.
 */
public final class PartitionOwner {

    private final TopicPartition tp;
    private final Uuid topicId;
    private final Context context;
    private final PartitionLog log;
    private final Set<Runnable> appendListeners = ConcurrentHashMap.newKeySet();
    private volatile int leaderEpoch;
    private volatile long highWatermark;
    private volatile int minInsyncReplicas;
    private volatile boolean closed;
    // appends waiting for the next group fsync; owner context only
    private final List<FlushWaiter> awaitingFlush = new ArrayList<>();
    private boolean flushScheduled;

    PartitionOwner(TopicPartition tp, Uuid topicId, Context context, PartitionLog log, int leaderEpoch,
                   int minInsyncReplicas) {
        this.tp = tp;
        this.topicId = topicId;
        this.context = context;
        this.log = log;
        this.leaderEpoch = leaderEpoch;
        this.minInsyncReplicas = minInsyncReplicas;
        // a single replica is the whole ISR: everything in the log is committed
        this.highWatermark = log.logEndOffset();
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

    public int isrSize() {
        return 1;
    }

    void minInsyncReplicas(int n) {
        this.minInsyncReplicas = n;
    }

    /**
     * Appends a producer's records. Completes on the owner's worker thread; the caller hops back to its
     * own context.
     */
    public Future<LogAppendResult> append(MemoryRecords records, short acks) {
        Promise<LogAppendResult> promise = Promise.promise();
        context.runOnContext(v -> {
            try {
                if (closed) {
                    throw new org.apache.kafka.common.errors.NotLeaderOrFollowerException(
                            "partition " + tp + " is no longer hosted here");
                }
                if (acks == -1 && isrSize() < minInsyncReplicas) {
                    throw new NotEnoughReplicasException("ISR of " + tp + " has " + isrSize()
                            + " replica(s), below min.insync.replicas=" + minInsyncReplicas);
                }
                LogAppendResult result = log.appendAsLeader(records, leaderEpoch);
                if (!result.duplicate()) {
                    highWatermark = log.logEndOffset();
                    notifyListeners();
                }
                if (log.flushDue()) {
                    awaitFlush(new FlushWaiter(promise, result));
                } else {
                    promise.complete(result);
                }
            } catch (Throwable t) {
                promise.fail(t);
            }
        });
        return promise.future();
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

    /** Reads committed data (below the high watermark); any thread. */
    public LogReadResult read(long offset, int maxBytes, boolean minOneMessage) {
        return log.read(offset, maxBytes, highWatermark, minOneMessage);
    }

    /** Runs {@code task} on the owner's context and completes with its result. */
    public <T> Future<T> submit(java.util.concurrent.Callable<T> task) {
        Promise<T> promise = Promise.promise();
        context.runOnContext(v -> {
            try {
                promise.complete(task.call());
            } catch (Throwable t) {
                promise.fail(t);
            }
        });
        return promise.future();
    }

    /** Called on the owner's context after the log start moved or the log changed otherwise. */
    void afterLogChange() {
        highWatermark = Math.max(Math.min(highWatermark, log.logEndOffset()), log.logStartOffset());
        notifyListeners();
    }

    public void addAppendListener(Runnable listener) {
        appendListeners.add(listener);
    }

    public void removeAppendListener(Runnable listener) {
        appendListeners.remove(listener);
    }

    private void notifyListeners() {
        for (Runnable r : appendListeners) {
            r.run();
        }
    }

    void markClosed() {
        closed = true;
        notifyListeners();
    }

    public boolean isClosed() {
        return closed;
    }
}
