package io.runnel.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class QuotaRateTest {

    @Test
    void firstBurstIsMeasuredAgainstAllButOneWindow() {
        QuotaRate r = new QuotaRate(11, 1000);
        r.record(10_000, 0);
        // 10 windows of 1 s at least, though only an instant has passed
        assertThat(r.spanMs(0)).isEqualTo(10_000);
        assertThat(r.rate(0)).isCloseTo(1_000.0, within(1e-9));
    }

    @Test
    void burstWithinWhatTheSpanAllowsIsNotThrottled() {
        QuotaRate r = new QuotaRate(11, 1000);
        // 10 s worth of a 1000 B/s quota may go at once, as in Kafka
        assertThat(r.recordAndThrottleMs(10_000, 1000, 0)).isZero();
        assertThat(r.recordAndThrottleMs(1, 1000, 0)).isPositive();
    }

    @Test
    void throttleIsTheTimeForTheRateToFallBackToTheQuota() {
        QuotaRate r = new QuotaRate(11, 1000);
        // 20 000 bytes at t=0 against 1000 B/s: rate 2000 B/s over 10 s; (2000-1000)/1000 * 10 s = 10 s
        assertThat(r.recordAndThrottleMs(20_000, 1000, 0)).isEqualTo(10_000);
        // the sample counts until it is older than all 11 windows (Kafka's sensors behave the same)
        assertThat(r.throttleMs(1000, 10_999)).isPositive();
        assertThat(r.throttleMs(1000, 11_000)).isZero();
    }

    @Test
    void samplesOlderThanTheWholeSpanAreForgotten() {
        QuotaRate r = new QuotaRate(3, 1000);
        r.record(5000, 0);
        assertThat(r.rate(0)).isCloseTo(2500.0, within(1e-9));
        // 3 windows later the sample is obsolete and its value gone
        assertThat(r.rate(3000)).isZero();
    }

    @Test
    void newSampleStartsOnceTheCurrentWindowHasPassedAndTheSpanGrowsWithElapsedTime() {
        QuotaRate r = new QuotaRate(3, 1000);
        r.record(100, 0);
        r.record(100, 999);   // same window
        r.record(100, 1000);  // a second sample
        r.record(100, 2500);  // a third
        // oldest sample started at 0: 2.5 s elapsed, at least 2 windows
        assertThat(r.spanMs(2500)).isEqualTo(2500);
        assertThat(r.rate(2500)).isCloseTo(400 / 2.5, within(1e-9));
        r.record(100, 3500);  // wraps onto the first sample (started at 0, now replaced)
        assertThat(r.spanMs(3500)).isEqualTo(2500); // oldest is now the one started at 1000
        assertThat(r.rate(3500)).isCloseTo(300 / 2.5, within(1e-9));
    }

    @Test
    void unrecordingTakesBackWhatWasRecorded() {
        QuotaRate r = new QuotaRate(11, 1000);
        r.record(50_000, 0);
        assertThat(r.throttleMs(1000, 0)).isPositive();
        r.record(-50_000, 0);
        assertThat(r.throttleMs(1000, 0)).isZero();
    }

    @Test
    void steadySenderThrottledByEachAnswerIsHeldToTheQuota() {
        // a client that sends a batch, then waits the throttle time it is given (at least 10 ms between sends);
        // Kafka's windows hold it near the quota, closer the smaller its batches are against the quota
        for (int batch : new int[] {1000, 10_000, 50_000}) {
            QuotaRate r = new QuotaRate(11, 1000);
            double quota = 100_000;
            long now = 0;
            long sentAfterWarmUp = 0;
            long warmUpEnd = 20_000;
            while (now < 80_000) {
                long t = r.recordAndThrottleMs(batch, quota, now);
                if (now >= warmUpEnd) {
                    sentAfterWarmUp += batch;
                }
                now += Math.max(10, t);
            }
            double rate = sentAfterWarmUp / ((now - warmUpEnd) / 1000.0);
            assertThat(rate).as("batches of %d", batch).isCloseTo(quota, within(quota * 0.10));
        }
    }
}
