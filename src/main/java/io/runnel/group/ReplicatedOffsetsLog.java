package io.runnel.group;

import java.io.IOException;

import io.runnel.log.AppendOrigin;
import io.runnel.log.LogBatch;
import io.runnel.log.LogReadResult;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.internals.Topic;

/**
 * {@link OffsetsLog} over the hosted partitions of the replicated {@code __consumer_offsets} topic: group
 * records are appended through the partition's owner as an acks=all produce would be (committed once every
 * in-sync replica has them, {@code offsets.commit.timeout.ms} at most, refused below min.insync.replicas),
 * so committed offsets survive the loss of the coordinator. On a single node the partition is its own only
 * replica and an append is committed once in the log.
 *
 * <p>Threading: {@link #append} from any thread (the owner's context keeps the order of the calls);
 * {@link #replay} off the event loop.
 */
public final class ReplicatedOffsetsLog implements OffsetsLog {

    private static final int REPLAY_CHUNK_BYTES = 1024 * 1024;

    private final PartitionManager partitions;
    private final long commitTimeoutMs;

    public ReplicatedOffsetsLog(PartitionManager partitions, long commitTimeoutMs) {
        this.partitions = partitions;
        this.commitTimeoutMs = commitTimeoutMs;
    }

    private PartitionOwner owner(int partition) {
        TopicPartition tp = new TopicPartition(Topic.GROUP_METADATA_TOPIC_NAME, partition);
        PartitionOwner owner = partitions.get(tp);
        if (owner == null) {
            throw new NotLeaderOrFollowerException(tp + " is not hosted on this broker");
        }
        return owner;
    }

    @Override
    public Future<Long> append(int partition, RecordSet records) {
        return owner(partition).append(records, (short) -1, commitTimeoutMs, AppendOrigin.COORDINATOR)
                .map(r -> r.firstOffset());
    }

    /**
     * Replays the partition up to its log end as its leader holds it, as Kafka's coordinator loads a
     * partition it has just been elected for: the leader's log is what every replica will hold.
     */
    @Override
    public void replay(int partition, ReplaySink sink) throws IOException {
        PartitionOwner owner = owner(partition);
        long next = owner.log().logStartOffset();
        long end = owner.log().logEndOffset();
        while (next < end) {
            LogReadResult read = owner.readForReplica(next, REPLAY_CHUNK_BYTES, true);
            RecordSet records = read.records().toRecordSet();
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

    @Override
    public void close() {
        // the partitions are the partition manager's to close
    }
}
