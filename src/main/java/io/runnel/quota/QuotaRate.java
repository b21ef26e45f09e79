package io.runnel.quota;

/**
 * A rate over sampled windows, as Kafka's quota sensors measure it ({@code quota.window.num} samples of
 * {@code quota.window.size.seconds} each): values recorded go into the current sample; a sample older than the whole
 * span is forgotten; the rate is the sum of the retained samples divided by the time they cover, which is never taken
 * as less than {@code samples - 1} whole windows, so a first burst is measured against the full span rather than the
 * instant it took (a client may send up to {@code samples - 1} windows' worth of its quota before being throttled).
 * A new sample starts at the time of the first value recorded after the current one's window ended, so time in which
 * nothing was recorded is still counted (by the oldest sample's start).
 *
 * <p>Throttle time (Kafka's formula): when the rate is above the quota, {@code (rate - quota) / quota * span}, the
 * time it takes for the rate measured over the span to fall back to the quota with nothing more recorded.
 *
 * <p>Threading: synchronized; one instance is shared by every connection of a user / client id (a few microseconds
 * under the lock per request).
 */
public final class QuotaRate {

    private final int samples;
    private final long windowMs;
    private final double[] values;
    private final long[] starts;
    /** Samples created so far (they are created lazily, as Kafka's are), and the current one's index. */
    private int created;
    private int current;

    public QuotaRate(int samples, long windowMs) {
        if (samples < 1 || windowMs < 1) {
            throw new IllegalArgumentException("samples and window must be positive");
        }
        this.samples = samples;
        this.windowMs = windowMs;
        this.values = new double[samples];
        this.starts = new long[samples];
    }

    /** Adds {@code value} (negative to take back what was recorded) at {@code nowMs}. */
    public synchronized void record(double value, long nowMs) {
        if (created == 0) {
            created = 1;
            current = 0;
            starts[0] = nowMs;
            values[0] = 0;
        } else if (nowMs >= starts[current] + windowMs) {
            current = (current + 1) % samples;
            if (current >= created) {
                created++;
            }
            starts[current] = nowMs;
            values[current] = 0;
        }
        values[current] += value;
    }

    /** The rate per second at {@code nowMs}. */
    public synchronized double rate(long nowMs) {
        purgeObsolete(nowMs);
        double total = 0;
        for (int i = 0; i < created; i++) {
            total += values[i];
        }
        return total / (spanMs(nowMs) / 1000.0);
    }

    /** The time the rate is measured over at {@code nowMs}: at least {@code samples - 1} windows. */
    public synchronized long spanMs(long nowMs) {
        purgeObsolete(nowMs);
        long oldest = nowMs;
        for (int i = 0; i < created; i++) {
            oldest = Math.min(oldest, starts[i]);
        }
        long elapsed = nowMs - oldest;
        long fullWindows = elapsed / windowMs;
        if (fullWindows < samples - 1) {
            elapsed += (samples - 1 - fullWindows) * windowMs;
        }
        return Math.max(elapsed, 1);
    }

    /**
     * Records {@code value} and answers how long the client must wait (ms) for the rate to fall back to
     * {@code quota}: 0 when it is within it.
     */
    public synchronized long recordAndThrottleMs(double value, double quota, long nowMs) {
        record(value, nowMs);
        return throttleMs(quota, nowMs);
    }

    /** How long (ms) until the rate falls back to {@code quota} with nothing more recorded; 0 within the quota. */
    public synchronized long throttleMs(double quota, long nowMs) {
        double rate = rate(nowMs);
        if (rate <= quota) {
            return 0;
        }
        return Math.round((rate - quota) / quota * spanMs(nowMs));
    }

    private void purgeObsolete(long nowMs) {
        long expireAge = samples * windowMs;
        for (int i = 0; i < created; i++) {
            if (nowMs - starts[i] >= expireAge) {
                starts[i] = nowMs;
                values[i] = 0;
            }
        }
    }
}
