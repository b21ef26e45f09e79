package io.runnel.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a log cleaning interrupted by a crash leaves behind, settled when the log is loaded, as Kafka's
 * LogLoader does:
 * <ul>
 * <li>{@code <base>.log.cleaned} (and its {@code .index.cleaned}, {@code .timeindex.cleaned}): a cleaned
 *     segment still being written or not yet swapped in. The old segments are all still there: the
 *     files are deleted.</li>
 * <li>{@code <base>.log.swap}: a cleaned segment that was complete and flushed when the swap began. The
 *     swap is completed: every segment whose base offset lies in {@code [base, next offset of the swap)}
 *     (the old segments it replaces, none of whose surviving records is missing from it) is deleted with
 *     its indexes, the swap's own index files are dropped, and it is renamed {@code <base>.log}; the
 *     loader then rebuilds the missing indexes by scanning it.</li>
 * </ul>
 * Old segments already renamed {@code .deleted} are removed by the loader before this runs. Blocking file
 * I/O; runs in {@link LogLoader#load}, from {@link PartitionLog#open}.
 */
final class CleanerRecovery {

    private static final Logger LOG = LoggerFactory.getLogger(CleanerRecovery.class);

    static final String CLEANED_SUFFIX = ".cleaned";
    static final String SWAP_SUFFIX = ".swap";
    private static final String LOG_SWAP = LogSegment.LOG_SUFFIX + SWAP_SUFFIX;

    private CleanerRecovery() {
    }

    static void recover(Path dir, TopicPartition tp) throws IOException {
        List<Path> swaps = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(CLEANED_SUFFIX)) {
                    LOG.info("{}: deleting {} left by an interrupted cleaning", tp, name);
                    Files.deleteIfExists(p);
                } else if (name.endsWith(LOG_SWAP)) {
                    swaps.add(p);
                }
            }
        }
        for (Path swap : swaps) {
            String name = swap.getFileName().toString();
            long base;
            try {
                base = Long.parseLong(name.substring(0, name.length() - LOG_SWAP.length()));
            } catch (NumberFormatException e) {
                LOG.warn("{}: ignoring unexpected file {}", tp, swap);
                continue;
            }
            completeSwap(dir, tp, swap, base);
        }
        // index files of a swap whose log was already renamed, or of a swap being completed above
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (p.getFileName().toString().endsWith(SWAP_SUFFIX)) {
                    Files.deleteIfExists(p);
                }
            }
        }
        if (!swaps.isEmpty()) {
            Checkpoints.fsyncDir(dir);
        }
    }

    private static void completeSwap(Path dir, TopicPartition tp, Path swap, long base) throws IOException {
        long next = Math.max(base + 1, nextOffset(swap));
        List<Long> replaced = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(LogSegment.LOG_SUFFIX)) {
                    try {
                        long b = Long.parseLong(name.substring(0, name.length() - LogSegment.LOG_SUFFIX.length()));
                        if (b >= base && b < next) {
                            replaced.add(b);
                        }
                    } catch (NumberFormatException e) {
                        // not a segment
                    }
                }
            }
        }
        replaced.add(base);
        for (long b : replaced) {
            for (String suffix : List.of(LogSegment.LOG_SUFFIX, LogSegment.INDEX_SUFFIX, LogSegment.TIME_INDEX_SUFFIX,
                TransactionIndex.SUFFIX)) {
                Files.deleteIfExists(dir.resolve(LogSegment.fileName(b, suffix)));
            }
        }
        Files.deleteIfExists(dir.resolve(LogSegment.fileName(base, LogSegment.INDEX_SUFFIX) + SWAP_SUFFIX));
        Files.deleteIfExists(dir.resolve(LogSegment.fileName(base, LogSegment.TIME_INDEX_SUFFIX) + SWAP_SUFFIX));
        // the cleaned segment's aborted transactions, renamed before its log (a segment without any has none)
        Path txnSwap = dir.resolve(LogSegment.fileName(base, TransactionIndex.SUFFIX) + SWAP_SUFFIX);
        if (Files.exists(txnSwap)) {
            Files.move(txnSwap, dir.resolve(LogSegment.fileName(base, TransactionIndex.SUFFIX)),
                    StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(swap, dir.resolve(LogSegment.fileName(base, LogSegment.LOG_SUFFIX)), StandardCopyOption.ATOMIC_MOVE);
        LOG.info("{}: completed the swap of cleaned segment {} (replacing segments {})", tp, base,
                replaced.stream().distinct().sorted().toList());
    }

    /** The offset after the last whole batch of the file (its header says), or -1 when it has none. */
    static long nextOffset(Path logFile) throws IOException {
        long next = -1;
        ByteBuffer header = ByteBuffer.allocate(RecordFormat.LAST_OFFSET_DELTA_OFFSET + 4);
        try (FileChannel ch = FileChannel.open(logFile, StandardOpenOption.READ)) {
            long size = ch.size();
            long pos = 0;
            while (pos + header.capacity() <= size) {
                header.clear();
                while (header.hasRemaining()) {
                    if (ch.read(header, pos + header.position()) < 0) {
                        return next;
                    }
                }
                long batchBase = header.getLong(0);
                int batchSize = header.getInt(8) + 12;
                if (batchSize < RecordFormat.RECORD_BATCH_OVERHEAD || pos + batchSize > size) {
                    break;
                }
                next = batchBase + header.getInt(RecordFormat.LAST_OFFSET_DELTA_OFFSET) + 1;
                pos += batchSize;
            }
        }
        return next;
    }
}
