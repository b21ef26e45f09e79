package io.runnel.txn;

import java.io.IOException;
import java.util.function.Consumer;

import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.runnel.partition.InternalTopicLog;
import io.runnel.partition.PartitionManager;
import io.vertx.core.Future;
import org.apache.kafka.common.internals.Topic;

/**
 * {@link TransactionLog} over the hosted partitions of the replicated {@code __transaction_state} topic: records
 * are appended as acks=all (Kafka's coordinator writes with acks=-1), so a transaction's state survives the loss of
 * its coordinator; see {@link InternalTopicLog}.
 *
 * <p>Threading: {@link #append} from any thread; {@link #replay} off the event loop.
 */
public final class ReplicatedTransactionLog implements TransactionLog {

    private final InternalTopicLog log;

    public ReplicatedTransactionLog(PartitionManager partitions, long appendTimeoutMs) {
        this.log = new InternalTopicLog(partitions, Topic.TRANSACTION_STATE_TOPIC_NAME, appendTimeoutMs);
    }

    @Override
    public Future<Void> append(int partition, RecordSet records) {
        return log.append(partition, records).mapEmpty();
    }

    @Override
    public int leaderEpoch(int partition) {
        return log.leaderEpoch(partition);
    }

    /** Replays the partition's records, skipping control batches, which carry no transaction state. */
    @Override
    public void replay(int partition, Consumer<LogRecord> sink) throws IOException {
        log.replay(partition, (batch, r) -> {
            if (!batch.isControlBatch()) {
                sink.accept(r);
            }
        });
    }
}
