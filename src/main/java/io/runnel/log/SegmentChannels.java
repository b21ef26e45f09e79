package io.runnel.log;

import com.sun.management.UnixOperatingSystemMXBean;

import java.lang.management.ManagementFactory;

/**
 * The open segment files ({@code .log} channels) of the whole process, bounded: opening one more than
 * {@link #limit()} closes the least recently used one that no reader holds (CLOCK: a file used since the
 * last sweep gets a second chance). A closed segment file is reopened on its next use, so a broker hosting
 * 10,000 partitions of many segments needs no raised descriptor limit. Kafka keeps every segment's
 * {@code .log} open (one descriptor per segment, indexes mapped without one); this bounds the total.
 *
 * <p>The bound is soft: files held by readers (a Fetch answer still being sent with {@code sendfile}, a
 * scan of the cleaner or of recovery) are never closed under them, so while more than the bound are held
 * the set stays above it and shrinks again as they are released.
 *
 * <p>One instance serves the process ({@link #shared()}), since the descriptor limit is the process's; its
 * limit is set at broker start-up from {@code log.open.files.max}. Thread-safe: opening, releasing and
 * evicting may run on any thread; the bookkeeping takes one lock, held for a list update and, when
 * evicting, for the {@code close(2)} of the evicted files. Reading an open file takes no lock.
 */
public final class SegmentChannels {

    /** The smallest bound accepted: enough for a handful of partitions' active segments and their readers. */
    public static final int MIN_LIMIT = 16;

    private static final SegmentChannels SHARED = new SegmentChannels(defaultLimit());

    private volatile int limit;
    // guarded by this: the open files in CLOCK order (an intrusive list through the files' prev/next)
    private RecordFormat.SegmentFile head;
    private RecordFormat.SegmentFile tail;
    // written under the lock, read without it by overLimit
    private volatile int open;
    private long evictions;
    private long opens;

    public SegmentChannels(int limit) {
        setLimit(limit);
    }

    /** The process's set, used by every log unless a test passes its own. */
    public static SegmentChannels shared() {
        return SHARED;
    }

    /**
     * The default bound: half the process's open-file limit (as the JVM raised its soft limit to the hard
     * one), leaving the other half to sockets, jars and the metadata log; at least {@link #MIN_LIMIT}.
     */
    public static int defaultLimit() {
        long max = processFileLimit();
        return (int) Math.max(MIN_LIMIT, Math.min(Integer.MAX_VALUE, max <= 0 ? 4096 : max / 2));
    }

    /** The process's open-file limit (RLIMIT_NOFILE), or -1 where the platform does not say. */
    public static long processFileLimit() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix) {
            return unix.getMaxFileDescriptorCount();
        }
        return -1;
    }

    /** The process's open descriptors, or -1 where the platform does not say (tests, metrics). */
    public static long processOpenFiles() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix) {
            return unix.getOpenFileDescriptorCount();
        }
        return -1;
    }

    public int limit() {
        return limit;
    }

    /** Sets the bound; files above it are closed as soon as their readers release them. */
    public void setLimit(int limit) {
        if (limit < MIN_LIMIT) {
            throw new IllegalArgumentException("the open segment file limit must be at least " + MIN_LIMIT + ": " + limit);
        }
        this.limit = limit;
        synchronized (this) {
            evict();
        }
    }

    /**
     * Whether more files are open than the bound (all the others held by readers): a read then copies what it
     * read instead of holding its file, so that readers cannot pile up descriptors past the bound.
     */
    boolean overLimit() {
        return open > limit;
    }

    /** Segment files open now. */
    public synchronized int openFiles() {
        return open;
    }

    /** Segment files closed to stay under the bound since start (metrics, tests). */
    public synchronized long evictions() {
        return evictions;
    }

    /** Segment files opened since start, first opens and reopens alike (metrics, tests). */
    public synchronized long opens() {
        return opens;
    }

    /** {@code file} was just opened by a caller that holds it; may close others to stay under the bound. */
    synchronized void opened(RecordFormat.SegmentFile file) {
        open++;
        opens++;
        if (!file.listed) {
            link(file);
        }
        evict();
    }

    /** Closes unused files while more than the bound are open (a reader released one). */
    synchronized void shrink() {
        evict();
    }

    /** {@code file} was closed by its owner (log closed, segment deleted), not by this set. */
    synchronized void closed(RecordFormat.SegmentFile file) {
        open--;
        if (file.listed) {
            unlink(file);
        }
    }

    // Sweeps from the head: a file used since the last sweep loses its mark and goes to the tail; one held by a
    // reader goes to the tail; an unused one is closed. Two rounds at most, so that a set held entirely by
    // readers costs one bounded sweep and stays above the limit until they release.
    private void evict() {
        int steps = 2 * open;
        while (open > limit && steps-- > 0 && head != null) {
            RecordFormat.SegmentFile f = head;
            unlink(f);
            if (f.referenced) {
                f.referenced = false;
                link(f);
            } else if (f.tryCloseUnused()) {
                open--;
                evictions++;
            } else if (f.isOpen()) {
                link(f);
            }
        }
    }

    private void link(RecordFormat.SegmentFile f) {
        f.prev = tail;
        f.next = null;
        if (tail == null) {
            head = f;
        } else {
            tail.next = f;
        }
        tail = f;
        f.listed = true;
    }

    private void unlink(RecordFormat.SegmentFile f) {
        if (f.prev == null) {
            head = f.next;
        } else {
            f.prev.next = f.next;
        }
        if (f.next == null) {
            tail = f.prev;
        } else {
            f.next.prev = f.prev;
        }
        f.prev = null;
        f.next = null;
        f.listed = false;
    }
}
