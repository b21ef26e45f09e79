package io.runnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class RateLimitedLogTest {

    private final AtomicLong clock = new AtomicLong(1_000);
    private final RateLimitedLog log = new RateLimitedLog(3, TimeUnit.SECONDS.toNanos(10), clock::get);

    @Test
    void writesTheFirstLinesOfAWindowAndLeavesOutTheRest() {
        assertThat(log.admit()).isZero();
        assertThat(log.admit()).isZero();
        assertThat(log.admit()).isZero();
        assertThat(log.admit()).isEqualTo(-1);
        assertThat(log.admit()).isEqualTo(-1);
        clock.addAndGet(TimeUnit.SECONDS.toNanos(9));
        assertThat(log.admit()).as("still the same window").isEqualTo(-1);
    }

    @Test
    void theFirstLineOfTheNextWindowSaysHowManyWereLeftOut() {
        for (int i = 0; i < 10; i++) {
            log.admit();
        }
        clock.addAndGet(TimeUnit.SECONDS.toNanos(10));
        assertThat(log.admit()).isEqualTo(7);
        assertThat(log.admit()).as("counted once").isZero();
    }
}
