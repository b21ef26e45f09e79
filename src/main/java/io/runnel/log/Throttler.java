package io.runnel.log;

import org.apache.kafka.common.utils.Time;

/**
 * Caps the I/O of the cleaner threads together at {@code log.cleaner.io.max.bytes.per.second}, as Kafka's
 * Throttler: bytes are counted over periods of about {@value #PERIOD_MS} ms, and a thread that pushes the
 * rate of the current period over the cap sleeps until the rate is back under it.
 *
 * <p>Threading: any cleaner thread; sleeps on the calling thread, which is never an event loop.
 */
final class Throttler {

    private static final long PERIOD_MS = 300;

    private final double bytesPerSecond;
    private final Time time;
    private long periodStartMs;
    private long bytesInPeriod;

    Throttler(double bytesPerSecond, Time time) {
        this.bytesPerSecond = bytesPerSecond;
        this.time = time;
        this.periodStartMs = time.milliseconds();
    }

    boolean unlimited() {
        return bytesPerSecond >= Double.MAX_VALUE || Double.isInfinite(bytesPerSecond);
    }

    /** Counts {@code bytes} and sleeps if that makes the rate exceed the cap. */
    void maybeThrottle(long bytes) {
        if (unlimited()) {
            return;
        }
        long sleepMs;
        synchronized (this) {
            bytesInPeriod += bytes;
            long now = time.milliseconds();
            long elapsed = now - periodStartMs;
            if (elapsed < PERIOD_MS && bytesInPeriod / Math.max(1.0, elapsed) * 1000 <= bytesPerSecond) {
                return;
            }
            double rate = bytesInPeriod * 1000.0 / Math.max(1, elapsed);
            sleepMs = rate > bytesPerSecond ? (long) (bytesInPeriod * 1000.0 / bytesPerSecond) - elapsed : 0;
            periodStartMs = now + Math.max(0, sleepMs);
            bytesInPeriod = 0;
        }
        if (sleepMs > 0) {
            time.sleep(sleepMs);
        }
    }
}
