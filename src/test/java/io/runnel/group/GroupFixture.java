package io.runnel.group;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Vert.x and a started group coordinator (leading every offsets partition) over an {@link InMemoryOffsetsLog},
 * for the coordinator and handler tests of this package: {@code @RegisterExtension final GroupFixture fx = new
 * GroupFixture(config, topicExists);} gives each test its own. {@link #restart} replaces the coordinator by a new one
 * over the same log, as a broker restart or a new leader of the offsets partitions would; after the test, whichever
 * coordinator is current is closed, then Vert.x.
 */
final class GroupFixture implements BeforeEachCallback, AfterEachCallback {

    /** The handler tests' settings: no initial rebalance delay, 3 offsets partitions. */
    static final GroupConfig HANDLER_CONFIG = new GroupConfig(0, 100, 30_000, 100, 600_000L, 600_000L, 3, 4096);

    final InMemoryOffsetsLog log = new InMemoryOffsetsLog();
    private final GroupConfig firstConfig;
    private final Predicate<TopicPartition> topicExists;
    Vertx vertx;
    /** The current coordinator; a test that replaces it assigns it here, so that it is closed after the test. */
    GroupCoordinator coordinator;

    /**
     * @param config the first coordinator's settings
     * @param topicExists the partitions offsets may be committed for
     */
    GroupFixture(GroupConfig config, Predicate<TopicPartition> topicExists) {
        this.firstConfig = config;
        this.topicExists = topicExists;
    }

    @Override
    public void beforeEach(ExtensionContext test) {
        vertx = Vertx.vertx();
        coordinator = start(firstConfig);
    }

    /** A new coordinator over the fixture's log that leads every partition, started; the current one stays. */
    GroupCoordinator start(GroupConfig config) {
        GroupCoordinator gc = new GroupCoordinator(vertx, config, log, topicExists, Time.SYSTEM);
        await(gc.start());
        return gc;
    }

    /**
     * A new coordinator over {@code offsets} that leads no partition until it is elected ({@code onElected}), as a
     * broker follows the leadership of the offsets partitions; started. The caller closes it.
     */
    GroupCoordinator following(GroupConfig config, OffsetsLog offsets) {
        GroupCoordinator gc = new GroupCoordinator(vertx, config, offsets, topicExists, Time.SYSTEM);
        await(gc.startFollowingLeadership());
        return gc;
    }

    /** Closes the current coordinator and starts the next over the same log with {@code config}. */
    GroupCoordinator restart(GroupConfig config) {
        await(coordinator.close());
        coordinator = start(config);
        return coordinator;
    }

    @Override
    public void afterEach(ExtensionContext test) {
        try {
            if (coordinator != null) {
                await(coordinator.close());
            }
        } finally {
            if (vertx != null) {
                await(vertx.close());
            }
        }
    }

    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static void eventually(Supplier<Boolean> condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.get()) {
            assertThat(System.nanoTime()).as("condition not met in time").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
