package io.runnel.log;

import static io.runnel.log.CleanerTestSupport.compacted;
import static io.runnel.log.CleanerTestSupport.compaction;
import static io.runnel.log.CleanerTestSupport.keyed;
import static io.runnel.log.CleanerTestSupport.keyedBatch;
import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.open;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The cleaner and transactions: aborted data goes, markers go once nothing needs them, the index follows. */
@Timeout(30)
class TransactionalCleanerTest {

    private static final long HOUR = 3600_000L;
    private static final long A = 10L;
    private static final long B = 20L;

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);
    private final LogCleaner logCleaner = new LogCleaner(CleanerConfig.defaults(), time);
    private final Cleaner cleaner = new Cleaner(1 << 20, 64 * 1024, new Throttler(Double.MAX_VALUE, time), time);

    private static RecordSet txn(long pid, short epoch, int seq, String... pairs) {
        return RecordSet.builder().transactional(pid, epoch, seq).addAll(keyed(T0, pairs)).build();
    }

    private static void end(PartitionLog log, long pid, boolean commit) {
        log.appendAsLeader(RecordSet.endTransactionMarker(0L, T0, -1, pid, (short) 0, commit, 0), 0,
                AppendOrigin.COORDINATOR);
    }

    /** Data records by offset as "key=value", and the offsets of control batches still in the log. */
    private static Map<Long, String> data(PartitionLog log, List<Long> markers) {
        Map<Long, String> out = new LinkedHashMap<>();
        long next = 0;
        while (next < log.logEndOffset()) {
            RecordSet r = log.read(next, Integer.MAX_VALUE, Long.MAX_VALUE, true).records().toRecordSet();
            for (LogBatch b : r.batches()) {
                if (b.isControlBatch() && b.iterator().hasNext()) {
                    markers.add(b.baseOffset());
                } else if (!b.isControlBatch()) {
                    for (LogRecord rec : b) {
                        out.put(rec.offset(), str(rec.key()) + "=" + str(rec.value()));
                    }
                }
                next = b.nextOffset();
            }
        }
        return out;
    }

    private static String str(java.nio.ByteBuffer buf) {
        byte[] b = new byte[buf.remaining()];
        buf.duplicate().get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private void roundOfFiller(PartitionLog log, String value) {
        log.appendAsLeader(keyedBatch(T0, "filler=" + value), 0);
        log.forceRoll();
        log.onHighWatermarkUpdated(log.logEndOffset());
    }

    @Test
    void abortedDataGoesWithoutShadowingAndItsMarkerGoesAfterTheDeleteHorizon() throws Exception {
        try (PartitionLog log = open(dir.resolve("t-0"), compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.01)),
                time)) {
            logCleaner.register(log, Runnable::run, log::logEndOffset);
            log.appendAsLeader(txn(A, (short) 0, 0, "a=a1"), 0);      // 0
            end(log, A, true);                                         // 1
            log.appendAsLeader(txn(B, (short) 0, 0, "a=bad"), 0);     // 2
            end(log, B, false);                                        // 3
            log.appendAsLeader(txn(B, (short) 0, 1, "q=q1"), 0);      // 4
            end(log, B, true);                                         // 5
            roundOfFiller(log, "f1");                                  // 6

            assertThat(logCleaner.cleanFilthiestLog(cleaner)).isTrue();
            List<Long> markers = new ArrayList<>();
            // the aborted value neither survives nor hides the committed one before it
            assertThat(data(log, markers)).containsExactly(Map.entry(0L, "a=a1"), Map.entry(4L, "q=q1"),
                    Map.entry(6L, "filler=f1"));
            // the ABORT marker stays, and its index entry with it, while this pass still met its data
            assertThat(markers).containsExactly(1L, 3L, 5L);
            assertThat(log.collectAbortedTransactions(0, log.logEndOffset())).containsExactly(new AbortedTxn(B, 2, 3, 4));

            roundOfFiller(log, "f2");
            assertThat(logCleaner.cleanFilthiestLog(cleaner)).isTrue();
            markers.clear();
            data(log, markers);
            // no data of it is left: the marker only waits for its delete horizon now, and needs no entry
            assertThat(markers).containsExactly(1L, 3L, 5L);
            assertThat(log.collectAbortedTransactions(0, log.logEndOffset())).isEmpty();

            time.ms += HOUR + 1;
            roundOfFiller(log, "f3");
            assertThat(logCleaner.cleanFilthiestLog(cleaner)).isTrue();
            markers.clear();
            Map<Long, String> after = data(log, markers);
            // the COMMIT markers keep guarding the data of their transactions; the ABORT marker is gone
            assertThat(markers).containsExactly(1L, 5L);
            assertThat(after).containsEntry(0L, "a=a1").containsEntry(4L, "q=q1").containsEntry(8L, "filler=f3");
        }
    }

    @Test
    void theCleanerStopsAtTheFirstUnstableOffset() throws Exception {
        try (PartitionLog log = open(dir.resolve("t-0"), compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.01)),
                time)) {
            logCleaner.register(log, Runnable::run, log::logEndOffset);
            log.appendAsLeader(keyedBatch(T0, "k=v1"), 0);            // 0
            log.appendAsLeader(txn(A, (short) 0, 0, "x=open"), 0);    // 1, left open
            log.appendAsLeader(keyedBatch(T0, "k=v2"), 0);            // 2
            roundOfFiller(log, "f1");                                  // 3
            logCleaner.cleanFilthiestLog(cleaner);
            List<Long> markers = new ArrayList<>();
            // k=v1 would go if the cleaning covered offset 2, which lies past the open transaction
            assertThat(data(log, markers)).containsKey(0L).containsKey(1L);
        }
    }
}
