package io.runnel.protocol;

import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The node-wide budget of request frame memory ({@code queued.max.request.bytes}, Kafka's MemoryPool): every
 * byte of capacity of every request frame, from the moment a connection allocates it while reading until the
 * frame is released: once the request is parsed, or for a Produce (whose records alias the frame) once its
 * response is encoded. Connections reserve before they allocate or grow a frame
 * and release exactly what they reserved (on release, close and error alike), so {@link #used()} is the
 * memory all frames hold.
 *
 * <p>When a reservation would pass the limit it is refused: the connection places the bytes the current read
 * already brought in (they are in memory anyway; {@link #forceReserve}) and stops reading until it is
 * {@link Waiter#wake woken}, in the order of refusal, with the reservation it was refused granted: so a woken
 * connection never has to take more than it was granted, and the limit is passed by at most one socket read
 * per waiting connection.
 *
 * <p>No deadlock: memory held by complete frames comes back by itself (parsed at once, or a Produce's handler
 * answers or times out),
 * but a frame that is still being read only completes if its client sends, and a paused or hostile client
 * may never. So when a reservation is refused while incomplete frames hold more than half the limit, or while
 * waiting for the complete ones cannot make room, one reader is {@link Holder#evict evicted}: the one whose
 * frame has made the least progress (bytes received per second of reading, time spent waiting for this
 * budget not counted). A client that declares a large frame and trickles it ranks last and goes first; a
 * client sending at full speed ranks first and is kept. Frames younger than a grace period are spared, so that
 * a burst of honest large requests first gets the chance to complete and be answered, as Kafka would wait
 * for them; {@link #recheck}, called periodically, evicts once they are older, since in a real stall nobody
 * reads, is refused and asks. One eviction is pending at a time.
 *
 * <p>Threading: every method may be called from any thread (each connection calls from its event loop).
 * Wake-ups and evictions are delivered through the callbacks, which must hop onto their own context.
 */
public final class RequestMemory {

    /** A connection reading a frame: what eviction needs to know and do. */
    interface Holder {
        /** Bytes received of the frame being read per second of reading; any thread. */
        double progressRate(long nowNanos);

        /** {@link System#nanoTime()} when the frame being read began to hold memory; any thread. */
        long frameStartNanos();

        /** Closes the connection; its frame's memory is released when it has closed. Any thread. */
        void evict();
    }

    /** A connection that stopped reading for want of memory. */
    interface Waiter {
        /**
         * Lets the connection read again with {@code granted} bytes reserved for it, which it uses for its frame
         * or gives back with {@link #releaseIncomplete}. Any thread.
         */
        void wake(long granted);
    }

    /** A waiter and the reservation it was refused, in the order they were refused. */
    private static final class Waiting {
        final Waiter waiter;
        final long need;

        Waiting(Waiter waiter, long need) {
            this.waiter = waiter;
            this.need = need;
        }
    }

    /** How long a frame is read before it may be evicted. */
    static final long GRACE_NANOS = 1_000_000_000L;

    private final long limit;
    private final long graceNanos;
    private final AtomicLong used = new AtomicLong();
    /** The part of {@link #used} held by frames still being read. */
    private final AtomicLong incomplete = new AtomicLong();
    private final Set<Holder> holders = ConcurrentHashMap.newKeySet();
    private final Queue<Waiting> waiters = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean evictionPending = new AtomicBoolean();
    private final AtomicLong evictions = new AtomicLong();

    /** @param limit the most bytes all frames may hold; {@link Long#MAX_VALUE} for no limit */
    public RequestMemory(long limit) {
        this(limit, GRACE_NANOS);
    }

    RequestMemory(long limit, long graceNanos) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit " + limit);
        }
        this.limit = limit;
        this.graceNanos = graceNanos;
    }

    /** Wakes waiters that fit, or evicts for them once frames are past their grace; call it periodically. */
    public void recheck() {
        wakeWaiters();
    }

    public long limit() {
        return limit;
    }

    /** Bytes all request frames hold now. */
    public long used() {
        return used.get();
    }

    /** Bytes held by frames still being read. */
    public long incomplete() {
        return incomplete.get();
    }

    /** Connections evicted so far to make room. */
    public long evictions() {
        return evictions.get();
    }

    /** Connections waiting for memory now. */
    public int waiting() {
        return waiters.size();
    }

    /**
     * Reserves {@code bytes} for a frame being read, if that keeps within the limit. On refusal the caller places
     * what it already read with {@link #forceReserve}, stops reading and {@link #await awaits}; refusal may evict
     * a reader (see the class comment).
     */
    boolean tryReserve(long bytes) {
        if (bytes == 0) {
            return true;
        }
        long u;
        do {
            u = used.get();
            if (u + bytes > limit) {
                maybeEvict(u, bytes);
                return false;
            }
        } while (!used.compareAndSet(u, u + bytes));
        incomplete.addAndGet(bytes);
        return true;
    }

    /** Reserves {@code bytes} a read already brought into memory, even past the limit. */
    void forceReserve(long bytes) {
        used.addAndGet(bytes);
        incomplete.addAndGet(bytes);
    }

    /** A frame of {@code bytes} was read whole: its memory now waits on its handler, not its client. */
    void completed(long bytes) {
        incomplete.addAndGet(-bytes);
    }

    /** Releases a complete frame's memory. */
    void release(long bytes) {
        if (bytes == 0) {
            return;
        }
        used.addAndGet(-bytes);
        wakeWaiters();
    }

    /** Releases the memory of a frame that was never completed (its connection closed). */
    void releaseIncomplete(long bytes) {
        incomplete.addAndGet(-bytes);
        release(bytes);
    }

    /** {@code h} holds an incomplete frame: a candidate for eviction. */
    void holding(Holder h) {
        holders.add(h);
    }

    /** {@code h} no longer holds an incomplete frame. */
    void notHolding(Holder h) {
        holders.remove(h);
    }

    /** An evicted holder has closed and released its memory: another eviction may be chosen. */
    void evicted() {
        evictionPending.set(false);
        wakeWaiters();
    }

    /** Queues {@code w} to be woken once {@code need} bytes (the reservation it was refused) fit. */
    void await(Waiter w, long need) {
        waiters.add(new Waiting(w, need));
        // a release between the refusal and the line above found no one to wake
        wakeWaiters();
    }

    /** Forgets a waiter that closed. */
    void cancel(Waiter w) {
        waiters.removeIf(x -> x.waiter == w);
    }

    /**
     * Wakes waiters in order, reserving for each what it needs, while that fits. When the first does not fit,
     * memory may have to be taken from a reader (the class comment says when): nobody else may be reading to
     * be refused and to ask.
     */
    private void wakeWaiters() {
        while (true) {
            Waiting head = waiters.peek();
            if (head == null) {
                return;
            }
            long u = used.get();
            if (u + head.need > limit) {
                maybeEvict(u, head.need);
                return;
            }
            if (!used.compareAndSet(u, u + head.need)) {
                continue;
            }
            if (waiters.remove(head)) {
                incomplete.addAndGet(head.need);
                head.waiter.wake(head.need);
            } else {
                used.addAndGet(-head.need); // another thread woke it
            }
        }
    }

    private void maybeEvict(long u, long bytes) {
        long inc = incomplete.get();
        long processing = u - inc;
        boolean readersHoldMost = inc > limit / 2;
        boolean handlersCannotMakeRoom = processing < u + bytes - limit;
        if (!readersHoldMost && !handlersCannotMakeRoom) {
            return;
        }
        if (!evictionPending.compareAndSet(false, true)) {
            return;
        }
        Holder victim = slowest();
        if (victim == null) {
            evictionPending.set(false);
            return;
        }
        holders.remove(victim);
        evictions.incrementAndGet();
        victim.evict();
    }

    private Holder slowest() {
        long now = System.nanoTime();
        Holder slowest = null;
        double lowest = Double.MAX_VALUE;
        for (Holder h : holders) {
            if (now - h.frameStartNanos() < graceNanos) {
                continue;
            }
            double rate = h.progressRate(now);
            if (rate < lowest) {
                lowest = rate;
                slowest = h;
            }
        }
        return slowest;
    }
}
