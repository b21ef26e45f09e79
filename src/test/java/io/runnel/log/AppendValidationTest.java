package io.runnel.log;

import static io.runnel.log.LogTestSupport.RECORDS_COUNT_OFFSET;
import static io.runnel.log.LogTestSupport.LAST_OFFSET_DELTA_OFFSET;
import static io.runnel.log.LogTestSupport.ATTRIBUTES_OFFSET;
import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.batch;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.fixCrc;
import static io.runnel.log.LogTestSupport.open;
import static io.runnel.log.LogTestSupport.readValues;
import static io.runnel.log.LogTestSupport.with;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.UnsupportedCompressionTypeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every rejected append leaves the log exactly as it was. */
@Timeout(30)
class AppendValidationTest {

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);
    private PartitionLog log;
    private long sizeBefore;

    @BeforeEach
    void setUp() throws Exception {
        log = open(dir, with(config(), 1 << 30, Long.MAX_VALUE, -1, -1, 1000, 4096, 0, false), time);
        log.appendAsLeader(batch(T0, "ok"), 0);
        sizeBefore = log.sizeInBytes();
    }

    @AfterEach
    void tearDown() throws Exception {
        log.close();
    }

    private void assertNothingAppended() {
        assertThat(log.logEndOffset()).isEqualTo(1);
        assertThat(log.sizeInBytes()).isEqualTo(sizeBefore);
        assertThat(readValues(log, 0)).containsExactly("ok");
    }

    /** A valid batch followed by the bad one: nothing of the request may be written. */
    private static RecordSet afterAGoodBatch(RecordSet bad) {
        RecordSet good = batch(T0, "good");
        ByteBuffer both = ByteBuffer.allocate(good.sizeInBytes() + bad.sizeInBytes());
        both.put(good.buffer().duplicate()).put(bad.buffer().duplicate()).flip();
        return RecordSet.wrap(both);
    }

    @Test
    void rejectsBatchWithBadCrc() {
        RecordSet bad = batch("gzip", T0, "a", "b");
        ByteBuffer buf = bad.buffer();
        buf.put(buf.limit() - 3, (byte) (buf.get(buf.limit() - 3) ^ 0x55));
        assertThatThrownBy(() -> log.appendAsLeader(afterAGoodBatch(bad), 0))
                .isInstanceOf(CorruptRecordException.class);
        assertNothingAppended();
    }

    @Test
    void rejectsMagicV1Batch() {
        RecordSet v1 = RecordSet.builder().magic((byte) 1).addAll(LogTestSupport.records(T0, "old")).build();
        assertThatThrownBy(() -> log.appendAsLeader(v1, 0)).isInstanceOf(InvalidRecordException.class)
                .hasMessageContaining("magic");
        assertNothingAppended();
    }

    @Test
    void rejectsCountThatDisagreesWithTheOffsetRange() {
        RecordSet bad = batch(T0, "a", "b");
        bad.buffer().putInt(RECORDS_COUNT_OFFSET, 3);
        fixCrc(bad.buffer());
        assertThatThrownBy(() -> log.appendAsLeader(afterAGoodBatch(bad), 0))
                .isInstanceOf(InvalidRecordException.class);
        assertNothingAppended();
    }

    @Test
    void rejectsCountAboveTheRecordsPresent() {
        for (String codec : new String[] {"none", "lz4"}) {
            RecordSet bad = batch(codec, T0, "a", "b");
            bad.buffer().putInt(RECORDS_COUNT_OFFSET, 3);
            bad.buffer().putInt(LAST_OFFSET_DELTA_OFFSET, 2);
            fixCrc(bad.buffer());
            assertThatThrownBy(() -> log.appendAsLeader(bad, 0)).as(codec)
                    .isInstanceOfAny(InvalidRecordException.class, CorruptRecordException.class);
            assertNothingAppended();
        }
    }

    @Test
    void rejectsBatchLargerThanMaxMessageBytes() {
        String big = "x".repeat(2000);
        assertThatThrownBy(() -> log.appendAsLeader(afterAGoodBatch(batch(T0, big)), 0))
                .isInstanceOf(RecordTooLargeException.class);
        assertNothingAppended();
    }

    @Test
    void rejectsUnknownCodecBits() {
        RecordSet bad = batch(T0, "a");
        short attrs = bad.buffer().getShort(ATTRIBUTES_OFFSET);
        bad.buffer().putShort(ATTRIBUTES_OFFSET, (short) ((attrs & ~0x7) | 6));
        fixCrc(bad.buffer());
        assertThatThrownBy(() -> log.appendAsLeader(bad, 0)).isInstanceOf(UnsupportedCompressionTypeException.class);
        assertNothingAppended();

        RecordSet unsigned = batch(T0, "a");
        unsigned.buffer().putShort(ATTRIBUTES_OFFSET, (short) 7);
        assertThatThrownBy(() -> log.appendAsLeader(unsigned, 0)).isInstanceOf(CorruptRecordException.class);
        assertNothingAppended();
    }

    @Test
    void rejectsTimestampsOutsideTheConfiguredWindow() throws Exception {
        LogConfig c = log.config();
        log.updateConfig(new LogConfig(c.segmentBytes(), c.segmentMs(), c.retentionMs(), c.retentionBytes(),
                c.maxMessageBytes(), c.indexIntervalBytes(), c.segmentIndexBytes(), c.flushMessages(), c.flushMs(),
                c.fileDeleteDelayMs(), c.compact(), c.deleteRetention(), false, 1000L, 1000L));
        assertThatThrownBy(() -> log.appendAsLeader(batch(T0 - 5000, "old"), 0))
                .isInstanceOf(InvalidTimestampException.class);
        assertThatThrownBy(() -> log.appendAsLeader(batch("zstd", T0 + 5000, "future"), 0))
                .isInstanceOf(InvalidTimestampException.class);
        assertNothingAppended();
        log.appendAsLeader(batch(T0 + 500, "near"), 0);
        assertThat(log.logEndOffset()).isEqualTo(2);
    }

    @Test
    void rejectsNonZeroBaseOffsetFromAProducer() {
        RecordSet bad = RecordSet.builder().baseOffset(5L).addAll(LogTestSupport.records(T0, "a")).build();
        assertThatThrownBy(() -> log.appendAsLeader(bad, 0)).isInstanceOf(InvalidRecordException.class);
        assertNothingAppended();
    }

    @Test
    void compactedTopicRefusesAKeylessRecordInsideACompressedBatchAndTakesKeyedOnes() throws Exception {
        log.updateConfig(log.config().withCompaction(true, false, CleanerTestSupport.compaction(0, 0, Long.MAX_VALUE, 0.5)));
        for (String codec : new String[] {"none", "lz4", "zstd", "gzip"}) {
            List<RecordSet.NewRecord> records = new ArrayList<>(CleanerTestSupport.keyed(T0, "k1=a", "k2=b"));
            records.add(new RecordSet.NewRecord(T0, null, "keyless".getBytes(StandardCharsets.UTF_8)));
            RecordSet bad = RecordSet.builder().compression(Compression.of(codec).build())
                    .addAll(records).build();
            assertThatThrownBy(() -> log.appendAsLeader(bad, 0)).as(codec).isInstanceOf(InvalidRecordException.class)
                    .hasMessageContaining("without key");
            assertNothingAppended();
        }
        log.appendAsLeader(CleanerTestSupport.keyedBatch("lz4", T0, "k1=a", "k2="), 0);
        assertThat(log.logEndOffset()).isEqualTo(3);
    }
}
