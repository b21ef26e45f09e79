package io.runnel.partition;

import java.io.IOException;

import io.runnel.log.AppendOrigin;
import io.runnel.log.LogAppendResult;
import io.runnel.log.LogBatch;
import io.runnel.log.LogReadResult;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;

/**
 * The hosted partitions of a replicated internal topic a coordinator keeps its state in ({@code __consumer_offsets},
 * {@code __transaction_state}; see {@link io.runnel.metadata.InternalTopic}) as the coordinator writes and loads them.
 * Records are appended through the partition's owner as an acks=all produce would be, as a coordinator's
 * ({@link AppendOrigin#COORDINATOR}, as Kafka's coordinators write): committed once every in-sync replica has them,
 * {@code appendTimeoutMs} at most, refused below min.insync.replicas, so the state survives the loss of its
 * coordinator. On a single node the partition is its own only replica and an append is committed once in the log.
 * A partition is loaded by replaying it, in chunks, up to the log end its leader holds.
 *
 * <p>Threading: {@link #append} and {@link #leaderEpoch} from any thread (the owner's context keeps the order of
 * the appends; their futures complete on the owner's worker thread); {@link #replay} off the event loop.
 */
public final class InternalTopicLog {

    private static final int REPLAY_CHUNK_BYTES = 1024 * 1024;

    private final PartitionManager partitions;
    private final String topic;
    private final long appendTimeoutMs;

    public InternalTopicLog(PartitionManager partitions, String topic, long appendTimeoutMs) {
        this.partitions = partitions;
        this.topic = topic;
        this.appendTimeoutMs = appendTimeoutMs;
    }

    private PartitionOwner owner(int partition) {
        TopicPartition tp = new TopicPartition(topic, partition);
        PartitionOwner owner = partitions.get(tp);
        if (owner == null) {
            throw new NotLeaderOrFollowerException(tp + " is not hosted on this broker");
        }
        return owner;
    }

    /**
     * Appends the batch as acks=all; completes once it is committed, or fails with the error a produce would get
     * (NOT_LEADER_OR_FOLLOWER when the partition is not hosted here). Never throws.
     */
    public Future<LogAppendResult> append(int partition, RecordSet records) {
        try {
            return owner(partition).append(records, (short) -1, appendTimeoutMs, AppendOrigin.COORDINATOR);
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    /** The leader epoch of the partition as this broker holds it; -1 when it is not hosted here. */
    public int leaderEpoch(int partition) {
        PartitionOwner owner = partitions.get(new TopicPartition(topic, partition));
        return owner == null ? -1 : owner.leaderEpoch();
    }

    /**
     * Feeds every record of the partition, oldest first, with the batch holding it (control batches too), to
     * {@code sink}, up to the partition's log end as its leader holds it, as Kafka's coordinators load a partition
     * they have just been elected for: the leader's log is what every replica will hold. Blocks on the disk.
     */
    public void replay(int partition, ReplaySink sink) throws IOException {
        PartitionOwner owner = owner(partition);
        long next = owner.log().logStartOffset();
        long end = owner.log().logEndOffset();
        while (next < end) {
            LogReadResult read = owner.readForReplica(next, REPLAY_CHUNK_BYTES, true);
            RecordSet records = read.records().copyAndRelease();
            long before = next;
            for (LogBatch batch : records.batches()) {
                if (batch.lastOffset() < next) {
                    continue;
                }
                for (LogRecord r : batch) {
                    if (r.offset() >= next && r.offset() < end) {
                        sink.accept(batch, r);
                    }
                }
                next = batch.nextOffset();
            }
            if (next == before) {
                throw new IOException("no progress replaying " + owner.topicPartition() + " at offset " + next);
            }
        }
    }

    /** Receives the records of {@link #replay}; batch and record are valid during the call only. */
    @FunctionalInterface
    public interface ReplaySink {
        void accept(LogBatch batch, LogRecord record);
    }
}
