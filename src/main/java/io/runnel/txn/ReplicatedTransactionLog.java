package io.runnel.txn;

import java.io.IOException;
import java.util.function.Consumer;

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
 * {@link TransactionLog} over the hosted partitions of the replicated {@code __transaction_state} topic: records
 * are appended through the partition's owner as an acks=all produce (Kafka's coordinator writes with acks=-1), so a
 * transaction's state survives the loss of its coordinator.
 *
 * <p>Threading: {@link #append} from any thread; {@link #replay} off the event loop.
 */
public final class ReplicatedTransactionLog implements TransactionLog {

    private static final int REPLAY_CHUNK_BYTES = 1024 * 1024;

    private final PartitionManager partitions;
    private final long appendTimeoutMs;

    public ReplicatedTransactionLog(PartitionManager partitions, long appendTimeoutMs) {
        this.partitions = partitions;
        this.appendTimeoutMs = appendTimeoutMs;
    }

    private PartitionOwner owner(int partition) {
        TopicPartition tp = new TopicPartition(Topic.TRANSACTION_STATE_TOPIC_NAME, partition);
        PartitionOwner owner = partitions.get(tp);
        if (owner == null) {
            throw new NotLeaderOrFollowerException(tp + " is not hosted on this broker");
        }
        return owner;
    }

    @Override
    public Future<Void> append(int partition, RecordSet records) {
        try {
            return owner(partition).append(records, (short) -1, appendTimeoutMs).mapEmpty();
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    @Override
    public int leaderEpoch(int partition) {
        PartitionOwner owner = partitions.get(new TopicPartition(Topic.TRANSACTION_STATE_TOPIC_NAME, partition));
        return owner == null ? -1 : owner.leaderEpoch();
    }

    /** Replays the partition up to its log end as its leader holds it (what every replica will hold). */
    @Override
    public void replay(int partition, Consumer<LogRecord> sink) throws IOException {
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
                if (!batch.isControlBatch()) {
                    for (LogRecord r : batch) {
                        if (r.offset() >= next && r.offset() < end) {
                            sink.accept(r);
                        }
                    }
                }
                next = batch.nextOffset();
            }
            if (next == before) {
                throw new IOException("no progress replaying " + owner.topicPartition() + " at offset " + next);
            }
        }
    }
}
