package io.runnel.protocol;

import java.util.function.LongSupplier;

/**
 * A budget of log lines per time window, for the lines a client can cause: a hostile client makes a node close
 * thousands of connections a second (the protocol fuzzer of the hostile-clients suite reached 3,000), and a WARN
 * line for each would fill the log's disk (100,000 fuzzed frames wrote 11 MB of them). The first
 * {@code linesPerWindow} lines of a window are written; the rest are left out and counted, and the next line
 * written says how many were.
 *
 * <p>Threading: any thread.
 */
public final class RateLimitedLog {

    private final int linesPerWindow;
    private final long windowNanos;
    private final LongSupplier nanoClock;
    private long windowStart;
    private int written;
    private long leftOut;

    public RateLimitedLog(int linesPerWindow, long windowNanos, LongSupplier nanoClock) {
        this.linesPerWindow = linesPerWindow;
        this.windowNanos = windowNanos;
        this.nanoClock = nanoClock;
        this.windowStart = nanoClock.getAsLong();
    }

    /**
     * Whether a line may be written now: -1 when it is to be left out, otherwise how many lines were left out
     * since the last one written (to be said in this one).
     */
    public synchronized long admit() {
        long now = nanoClock.getAsLong();
        if (now - windowStart >= windowNanos) {
            windowStart = now;
            written = 0;
        }
        if (written >= linesPerWindow) {
            leftOut++;
            return -1;
        }
        written++;
        long n = leftOut;
        leftOut = 0;
        return n;
    }
}
