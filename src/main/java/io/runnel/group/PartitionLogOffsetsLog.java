package io.runnel.group;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

import io.runnel.log.LogConfig;
import io.runnel.log.LogReadResult;
import io.runnel.log.PartitionLog;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MutableRecordBatch;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.utils.Time;

/**
 * {@link OffsetsLog} over one {@link PartitionLog} per {@code __consumer_offsets} partition, in
 * {@code <logDir>/__consumer_offsets-<n>} as Kafka lays it out. Logs are opened on first use.
 *
 * <p>Threading: not thread-safe; the coordinator is the partitions' only owner and calls it from one
 * ordered worker sequence, which is what PartitionLog requires of its writer.
 */
public final class PartitionLogOffsetsLog implements OffsetsLog {

    /** Kafka's offsets.topic.segment.bytes default. */
    private static final int SEGMENT_BYTES = 100 * 1024 * 1024;
    private static final int REPLAY_CHUNK_BYTES = 1024 * 1024;

    private final Path logDir;
    private final LogConfig config;
    private final Time time;
    private final PartitionLog[] logs;

    public PartitionLogOffsetsLog(Path logDir, int numPartitions, Time time) {
        this.logDir = logDir;
        this.time = time;
        LogConfig d = LogConfig.defaults();
        // cleanup.policy=compact as Kafka's internal topic; retention of the offsets themselves is the
        // coordinator's job (offsets.retention.ms), through tombstones
        this.config = new LogConfig(SEGMENT_BYTES, d.segmentMs(), -1L, -1L, d.maxMessageBytes(),
                d.indexIntervalBytes(), d.segmentIndexBytes(), d.flushMessages(), d.flushMs(), d.fileDeleteDelayMs(),
                true, false, false, d.messageTimestampBeforeMaxMs(), d.messageTimestampAfterMaxMs());
        this.logs = new PartitionLog[numPartitions];
    }

    private PartitionLog log(int partition) throws IOException {
        PartitionLog log = logs[partition];
        if (log == null) {
            TopicPartition tp = new TopicPartition(Topic.GROUP_METADATA_TOPIC_NAME, partition);
            log = PartitionLog.open(tp, logDir.resolve(tp.topic() + "-" + partition), config, time);
            logs[partition] = log;
        }
        return log;
    }

    @Override
    public void append(int partition, MemoryRecords records) throws IOException {
        PartitionLog log = log(partition);
        log.appendAsLeader(records, 0);
        log.flushIfNeeded();
    }

    @Override
    public void replay(int partition, Consumer<Record> sink) throws IOException {
        PartitionLog log = log(partition);
        long next = log.logStartOffset();
        long end = log.logEndOffset();
        while (next < end) {
            LogReadResult read = log.read(next, REPLAY_CHUNK_BYTES, end, true);
            MemoryRecords records = read.records().toMemoryRecords();
            long before = next;
            for (MutableRecordBatch batch : records.batches()) {
                if (batch.lastOffset() < next) {
                    continue;
                }
                if (!batch.isControlBatch()) {
                    for (Record r : batch) {
                        if (r.offset() >= next) {
                            sink.accept(r);
                        }
                    }
                }
                next = batch.nextOffset();
            }
            if (next == before) {
                throw new IOException("no progress replaying " + Topic.GROUP_METADATA_TOPIC_NAME + "-" + partition
                        + " at offset " + next);
            }
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (int i = 0; i < logs.length; i++) {
            if (logs[i] != null) {
                try {
                    logs[i].close();
                } catch (IOException e) {
                    if (first == null) {
                        first = e;
                    }
                }
                logs[i] = null;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
