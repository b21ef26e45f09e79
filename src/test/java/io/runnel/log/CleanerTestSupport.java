package io.runnel.log;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.SimpleRecord;

/** Keyed batches, a compacted config and a view of a log as key to (offset, value) for the cleaner tests. */
final class CleanerTestSupport {

    private CleanerTestSupport() {
    }

    static LogConfig compacted(int segmentBytes, CompactionConfig compaction) {
        return LogTestSupport.withSegmentBytes(LogConfig.defaults(), segmentBytes).withCompaction(true, false, compaction);
    }

    static CompactionConfig compaction(long deleteRetentionMs, long minLagMs, long maxLagMs, double ratio) {
        return new CompactionConfig(deleteRetentionMs, minLagMs, maxLagMs, ratio);
    }

    /** "key=value" pairs; "key=" is a tombstone. */
    static SimpleRecord[] keyed(long timestamp, String... pairs) {
        SimpleRecord[] out = new SimpleRecord[pairs.length];
        for (int i = 0; i < pairs.length; i++) {
            String[] kv = pairs[i].split("=", -1);
            out[i] = new SimpleRecord(timestamp, kv[0].getBytes(StandardCharsets.UTF_8),
                    kv[1].isEmpty() ? null : kv[1].getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    static MemoryRecords keyedBatch(long timestamp, String... pairs) {
        return MemoryRecords.withRecords(Compression.NONE, keyed(timestamp, pairs));
    }

    static MemoryRecords keyedBatch(CompressionType type, long timestamp, String... pairs) {
        return MemoryRecords.withRecords(Compression.of(type).build(), keyed(timestamp, pairs));
    }

    static MemoryRecords idempotentKeyed(long pid, short epoch, int seq, long timestamp, String... pairs) {
        return MemoryRecords.withIdempotentRecords(Compression.NONE, pid, epoch, seq, keyed(timestamp, pairs));
    }

    /** One entry of the log as a consumer reads it. */
    record Entry(long offset, String key, String value) {
    }

    /** Every record from the log start, in order, as "offset:key=value" (value "" for a tombstone). */
    static Map<Long, Entry> entries(PartitionLog log) {
        Map<Long, Entry> out = new LinkedHashMap<>();
        long next = log.logStartOffset();
        while (next < log.logEndOffset()) {
            MemoryRecords r = log.read(next, Integer.MAX_VALUE, Long.MAX_VALUE, true).records().toMemoryRecords();
            if (r.sizeInBytes() == 0) {
                throw new AssertionError("no batch at or after " + next + " below log end " + log.logEndOffset());
            }
            for (RecordBatch b : r.batches()) {
                for (Record rec : b) {
                    if (rec.offset() >= next) {
                        out.put(rec.offset(), new Entry(rec.offset(), str(rec.key(), rec.keySize()),
                                rec.hasValue() ? str(rec.value(), rec.valueSize()) : ""));
                    }
                }
                next = Math.max(next, b.nextOffset());
            }
        }
        return out;
    }

    /** The latest value of each key as a consumer reading the whole log ends up with (tombstones remove). */
    static Map<String, String> latest(PartitionLog log) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Entry e : entries(log).values()) {
            if (e.value().isEmpty()) {
                out.remove(e.key());
            } else {
                out.put(e.key(), e.value());
            }
        }
        return out;
    }

    private static String str(java.nio.ByteBuffer buf, int size) {
        if (buf == null) {
            return null;
        }
        byte[] b = new byte[size];
        buf.duplicate().get(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
