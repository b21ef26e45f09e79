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

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The aborted transactions whose ABORT marker lies in one segment: {@code <base>.txnindex}, Kafka's format.
 * Entries of 34 bytes, big-endian, in marker order: short version (0), long producer id, long first offset,
 * long last offset (the marker's), long last stable offset (the partition's when the marker was written).
 * A transaction may start in an earlier segment; recovering the index therefore needs the producer state
 * of everything before the segment (see {@link LogLoader}).
 *
 * <p>The file exists only once an entry was written (most segments never see an abort); a trailing partial
 * entry (a crash mid-write) is dropped on open. The entries are also held in memory as an immutable list
 * published through a volatile field, so readers (read_committed fetches, on any thread) never touch the
 * file.
 *
 * <p>Threading: {@link #append}, {@link #truncateTo}, {@link #reset}, {@link #renameTo}, {@link #flush},
 * {@link #close} and {@link #delete} by the segment's owner only; {@link #entries} and {@link #collect} from
 * any thread.
 */
final class TransactionIndex {

    private static final Logger LOG = LoggerFactory.getLogger(TransactionIndex.class);

    static final String SUFFIX = ".txnindex";
    static final int ENTRY_SIZE = 34;
    private static final short VERSION = 0;

    private Path file;
    private FileChannel channel;
    private volatile List<AbortedTxn> entries;

    TransactionIndex(Path file) throws IOException {
        this.file = file;
        this.entries = Files.exists(file) ? load(file) : List.of();
    }

    private static List<AbortedTxn> load(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        List<AbortedTxn> out = new ArrayList<>(bytes.length / ENTRY_SIZE);
        while (buf.remaining() >= ENTRY_SIZE) {
            short version = buf.getShort();
            if (version != VERSION) {
                LOG.warn("{}: entry {} has unknown version {}; ignoring the rest", file, out.size(), version);
                break;
            }
            out.add(new AbortedTxn(buf.getLong(), buf.getLong(), buf.getLong(), buf.getLong()));
        }
        return List.copyOf(out);
    }

    Path file() {
        return file;
    }

    List<AbortedTxn> entries() {
        return entries;
    }

    /** Appends an entry; its last offset must be above every earlier entry's (markers come in offset order). */
    void append(AbortedTxn txn) throws IOException {
        List<AbortedTxn> current = entries;
        if (!current.isEmpty() && current.get(current.size() - 1).lastOffset() >= txn.lastOffset()) {
            throw new IllegalStateException("Aborted transaction " + txn + " in " + file
                    + " does not come after the last entry " + current.get(current.size() - 1));
        }
        ByteBuffer buf = ByteBuffer.allocate(ENTRY_SIZE);
        buf.putShort(VERSION).putLong(txn.producerId()).putLong(txn.firstOffset()).putLong(txn.lastOffset())
                .putLong(txn.lastStableOffset()).flip();
        FileChannel ch = channel();
        long pos = (long) current.size() * ENTRY_SIZE;
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
        List<AbortedTxn> next = new ArrayList<>(current.size() + 1);
        next.addAll(current);
        next.add(txn);
        entries = List.copyOf(next);
    }

    private FileChannel channel() throws IOException {
        if (channel == null) {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            // a partial entry left by a crash goes before anything is appended after it
            channel.truncate((long) entries.size() * ENTRY_SIZE);
        }
        return channel;
    }

    /** Drops every entry whose marker is at or above {@code offset}. */
    void truncateTo(long offset) throws IOException {
        List<AbortedTxn> current = entries;
        int keep = 0;
        while (keep < current.size() && current.get(keep).lastOffset() < offset) {
            keep++;
        }
        if (keep == current.size()) {
            return;
        }
        entries = List.copyOf(current.subList(0, keep));
        if (Files.exists(file)) {
            channel().truncate((long) keep * ENTRY_SIZE);
        }
    }

    /** Empties the index (before recovery rebuilds it). */
    void reset() throws IOException {
        truncateTo(Long.MIN_VALUE);
    }

    /**
     * The entries overlapping [{@code fetchOffset}, {@code upperBoundOffset}): marker at or after the fetch
     * offset and first record below the bound. {@code complete} when an entry's last stable offset reaches
     * the bound: no transaction open before the bound can have its marker in a later segment.
     */
    Collected collect(long fetchOffset, long upperBoundOffset) {
        List<AbortedTxn> out = new ArrayList<>();
        for (AbortedTxn t : entries) {
            if (t.lastOffset() >= fetchOffset && t.firstOffset() < upperBoundOffset) {
                out.add(t);
            }
            if (t.lastStableOffset() >= upperBoundOffset) {
                return new Collected(out, true);
            }
        }
        return new Collected(out, false);
    }

    record Collected(List<AbortedTxn> txns, boolean complete) {
    }

    void flush() throws IOException {
        if (channel != null) {
            channel.force(true);
        }
    }

    void renameTo(Path to) throws IOException {
        if (Files.exists(file)) {
            Files.move(file, to, StandardCopyOption.REPLACE_EXISTING);
        }
        file = to;
    }

    void closeHandler() throws IOException {
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }

    void delete() throws IOException {
        closeHandler();
        Files.deleteIfExists(file);
    }

    /**
     * Whole entries only, as Kafka's sanityCheck: a torn file sends its segment to a recovery scan, which
     * rebuilds the index.
     */
    boolean isSane() throws IOException {
        return !Files.exists(file) || Files.size(file) % ENTRY_SIZE == 0;
    }
}
