package io.runnel.log;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.utils.Time;

/** Builders of producer batches, a manual clock and byte surgery on v2 batches for the log tests. */
final class LogTestSupport {

    static final TopicPartition TP = new TopicPartition("t", 0);
    /** v2 header: the CRC covers attributes (offset 21) to the end. */
    static final int ATTRIBUTES_OFFSET = 21;
    static final int CRC_OFFSET = 17;
    static final int LAST_OFFSET_DELTA_OFFSET = 23;
    static final int RECORDS_COUNT_OFFSET = 57;
    static final long T0 = 1_700_000_000_000L;

    private LogTestSupport() {
    }

    /** A clock moved by hand; nothing in the log sleeps. */
    static final class ManualTime implements Time {
        volatile long ms;

        ManualTime(long ms) {
            this.ms = ms;
        }

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
        public void waitObject(Object obj, Supplier<Boolean> condition, long deadlineMs) {
            throw new UnsupportedOperationException("the log never waits");
        }
    }

    static LogConfig config() {
        return LogConfig.defaults();
    }

    static LogConfig withSegmentBytes(LogConfig c, int segmentBytes) {
        return new LogConfig(segmentBytes, c.segmentMs(), c.retentionMs(), c.retentionBytes(), c.maxMessageBytes(),
                c.indexIntervalBytes(), c.segmentIndexBytes(), c.flushMessages(), c.flushMs(), c.fileDeleteDelayMs(),
                c.compact(), c.deleteRetention(), c.logAppendTime(), c.messageTimestampBeforeMaxMs(),
                c.messageTimestampAfterMaxMs());
    }

    static LogConfig with(LogConfig c, int segmentBytes, long segmentMs, long retentionMs, long retentionBytes,
                          int maxMessageBytes, int indexIntervalBytes, long fileDeleteDelayMs, boolean logAppendTime) {
        return new LogConfig(segmentBytes, segmentMs, retentionMs, retentionBytes, maxMessageBytes,
                indexIntervalBytes, c.segmentIndexBytes(), c.flushMessages(), c.flushMs(), fileDeleteDelayMs,
                c.compact(), c.deleteRetention(), logAppendTime, c.messageTimestampBeforeMaxMs(),
                c.messageTimestampAfterMaxMs());
    }

    /** Closes every segment of a set built by hand (tests of LogSegments, LogRetention, ...). */
    static void closeAll(LogSegments segments) throws Exception {
        for (LogSegment seg : segments.values()) {
            seg.close();
        }
    }

    /** Appends n one-record batches "value-000".. with timestamps T0, T0 + 1, ..; returns the values. */
    static List<String> appendValues(PartitionLog log, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String v = String.format("value-%03d", i);
            log.appendAsLeader(batch(T0 + i, v), 1);
            out.add(v);
        }
        return out;
    }

    static PartitionLog open(Path dir, LogConfig config, Time time) throws Exception {
        return PartitionLog.open(TP, dir, config, time);
    }

    static List<RecordSet.NewRecord> records(long timestamp, String... values) {
        List<RecordSet.NewRecord> out = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            out.add(new RecordSet.NewRecord(timestamp, ("k" + i).getBytes(StandardCharsets.UTF_8),
                    values[i].getBytes(StandardCharsets.UTF_8)));
        }
        return out;
    }

    /** One batch compressed with {@code codec} ("none", "gzip", "snappy", "lz4", "zstd"). */
    static RecordSet batch(String codec, long timestamp, String... values) {
        return RecordSet.builder().compression(Compression.of(codec).build()).addAll(records(timestamp, values))
                .build();
    }

    static RecordSet batch(long timestamp, String... values) {
        return batch("none", timestamp, values);
    }

    static RecordSet idempotent(long producerId, short epoch, int baseSequence, long timestamp, String... values) {
        return RecordSet.builder().idempotent(producerId, epoch, baseSequence).addAll(records(timestamp, values))
                .build();
    }

    /** Recomputes the v2 CRC after deliberate edits, so only the edit under test is wrong. */
    static void fixCrc(ByteBuffer buf) {
        int size = buf.limit() - ATTRIBUTES_OFFSET;
        CRC32C crc = new CRC32C();
        crc.update(buf.duplicate().position(ATTRIBUTES_OFFSET).limit(ATTRIBUTES_OFFSET + size));
        buf.putInt(CRC_OFFSET, (int) crc.getValue());
    }

    static List<String> values(RecordSet records) {
        List<String> out = new ArrayList<>();
        for (LogBatch b : records.batches()) {
            for (LogRecord r : b) {
                byte[] v = new byte[r.value().remaining()];
                r.value().get(v);
                out.add(new String(v, StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    static List<Long> offsets(RecordSet records) {
        List<Long> out = new ArrayList<>();
        for (LogBatch b : records.batches()) {
            for (LogRecord r : b) {
                out.add(r.offset());
            }
        }
        return out;
    }

    static RecordSet readAll(PartitionLog log, long from) {
        return log.read(from, Integer.MAX_VALUE, Long.MAX_VALUE, true).records().copyAndRelease();
    }

    /** Every record from {@code from} to the log end, across segments. */
    static List<String> readValues(PartitionLog log, long from) {
        List<String> out = new ArrayList<>();
        long next = from;
        while (next < log.logEndOffset()) {
            RecordSet r = log.read(next, Integer.MAX_VALUE, Long.MAX_VALUE, true).records().copyAndRelease();
            for (LogBatch b : r.batches()) {
                for (LogRecord rec : b) {
                    if (rec.offset() >= next) {
                        byte[] v = new byte[rec.value().remaining()];
                        rec.value().get(v);
                        out.add(new String(v, StandardCharsets.UTF_8));
                    }
                }
                next = b.nextOffset();
            }
        }
        return out;
    }
}
