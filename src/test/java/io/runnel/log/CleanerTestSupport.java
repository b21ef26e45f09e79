package io.runnel.log;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.compress.Compression;

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
    static List<RecordSet.NewRecord> keyed(long timestamp, String... pairs) {
        List<RecordSet.NewRecord> out = new ArrayList<>();
        for (String pair : pairs) {
            String[] kv = pair.split("=", -1);
            out.add(new RecordSet.NewRecord(timestamp, kv[0].getBytes(StandardCharsets.UTF_8),
                    kv[1].isEmpty() ? null : kv[1].getBytes(StandardCharsets.UTF_8)));
        }
        return out;
    }

    static RecordSet keyedBatch(long timestamp, String... pairs) {
        return keyedBatch("none", timestamp, pairs);
    }

    /** One batch compressed with {@code codec} ("none", "gzip", "snappy", "lz4", "zstd"). */
    static RecordSet keyedBatch(String codec, long timestamp, String... pairs) {
        return RecordSet.builder().compression(Compression.of(codec).build()).addAll(keyed(timestamp, pairs)).build();
    }

    static RecordSet idempotentKeyed(long pid, short epoch, int seq, long timestamp, String... pairs) {
        return RecordSet.builder().idempotent(pid, epoch, seq).addAll(keyed(timestamp, pairs)).build();
    }

    /** One entry of the log as a consumer reads it. */
    record Entry(long offset, String key, String value) {
    }

    /** Every record from the log start, in order, as "offset:key=value" (value "" for a tombstone). */
    static Map<Long, Entry> entries(PartitionLog log) {
        Map<Long, Entry> out = new LinkedHashMap<>();
        long next = log.logStartOffset();
        while (next < log.logEndOffset()) {
            RecordSet r = log.read(next, Integer.MAX_VALUE, Long.MAX_VALUE, true).records().toRecordSet();
            if (r.sizeInBytes() == 0) {
                throw new AssertionError("no batch at or after " + next + " below log end " + log.logEndOffset());
            }
            for (LogBatch b : r.batches()) {
                for (LogRecord rec : b) {
                    if (rec.offset() >= next) {
                        out.put(rec.offset(), new Entry(rec.offset(), str(rec.key()),
                                rec.hasValue() ? str(rec.value()) : ""));
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

    private static String str(java.nio.ByteBuffer buf) {
        if (buf == null) {
            return null;
        }
        byte[] b = new byte[buf.remaining()];
        buf.duplicate().get(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
