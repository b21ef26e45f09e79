package io.runnel.txn;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import io.runnel.log.LogBatch;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.vertx.core.Future;
import org.apache.kafka.common.errors.NotEnoughReplicasException;

/** A {@link TransactionLog} in memory; survives a coordinator "restart" and can fail appends. */
final class InMemoryTransactionLog implements TransactionLog {

    private final Map<Integer, List<ByteBuffer>> partitions = new HashMap<>();
    volatile boolean failAppends;
    volatile int epoch = 5;

    @Override
    public synchronized Future<Void> append(int partition, RecordSet records) {
        if (failAppends) {
            return Future.failedFuture(new NotEnoughReplicasException("test"));
        }
        ByteBuffer copy = ByteBuffer.allocate(records.sizeInBytes());
        copy.put(records.buffer().duplicate());
        copy.flip();
        partitions.computeIfAbsent(partition, p -> new ArrayList<>()).add(copy);
        return Future.succeededFuture();
    }

    @Override
    public synchronized void replay(int partition, Consumer<LogRecord> sink) {
        for (ByteBuffer buf : partitions.getOrDefault(partition, List.of())) {
            for (LogBatch batch : RecordSet.wrap(buf.duplicate()).batches()) {
                for (LogRecord r : batch) {
                    sink.accept(r);
                }
            }
        }
    }

    @Override
    public int leaderEpoch(int partition) {
        return epoch;
    }

    /** The decoded records of a partition, oldest first. */
    synchronized List<TransactionLogCodec.Entry> entries(int partition) {
        List<TransactionLogCodec.Entry> out = new ArrayList<>();
        replay(partition, r -> out.add(TransactionLogCodec.decode(r.key(), r.hasValue() ? r.value() : null)));
        return out;
    }
}
