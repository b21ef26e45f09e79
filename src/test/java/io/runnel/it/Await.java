package io.runnel.it;

import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * Polls a condition until it holds, for state the broker reaches asynchronously (topic deletion,
 * group membership). Test code only; every wait is bounded.
 */
final class Await {

    static final Duration DEFAULT = Duration.ofSeconds(30);

    private Await() {
    }

    static void until(String what, Callable<Boolean> condition) throws Exception {
        until(what, DEFAULT, condition);
    }

    static void until(String what, Duration timeout, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (Boolean.TRUE.equals(condition.call())) {
                    return;
                }
                last = null;
            } catch (Exception e) {
                // Metadata may lag for a moment (e.g. UNKNOWN_TOPIC right after creation); retry until the deadline.
                last = e;
            }
            Thread.sleep(50);
        }
        AssertionError failure = new AssertionError("timed out after " + timeout + " waiting for " + what);
        if (last != null) {
            failure.initCause(last);
        }
        throw failure;
    }
}
