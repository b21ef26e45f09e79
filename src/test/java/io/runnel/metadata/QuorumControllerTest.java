package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.Membership;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import org.apache.kafka.common.Uuid;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller turns membership into fence records, on a real quorum of one: nothing before it has
 * membership to go by (a cluster node's Hazelcast member joins after its quorum may have elected it), a
 * broker it saw leave at once, one it never saw after the session timeout, and nothing once stopped.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class QuorumControllerTest {

    private static final long SESSION_MS = 1500;

    @TempDir
    Path dir;

    private Vertx vertx;
    private MetadataQuorum quorum;
    private QuorumController controller;
    private final Uuid two = Uuid.randomUuid();
    private final Uuid three = Uuid.randomUuid();

    @BeforeEach
    void startQuorum() throws Exception {
        vertx = Vertx.vertx();
        QuorumConfig config = new QuorumConfig(List.of(new QuorumConfig.Voter(1, "127.0.0.1", 0)), true,
                dir.resolve(QuorumConfig.STORAGE_DIR_NAME), 1, 1000, 5000, 1000);
        quorum = new MetadataQuorum(config, "controller-test", new MetadataStateMachine(new MetadataImage(o -> false)));
        quorum.start("127.0.0.1", 0);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!quorum.isLeaderReady()) {
            assertThat(System.nanoTime()).as("the quorum of one elects itself").isLessThan(deadline);
            Thread.sleep(10);
        }
        for (Map.Entry<Integer, Uuid> b : Map.of(2, two, 3, three).entrySet()) {
            quorum.propose(MetadataRecords.registerBroker(b.getKey(), b.getValue(), "127.0.0.1", 9000 + b.getKey()))
                    .get(10, TimeUnit.SECONDS);
            quorum.propose(MetadataRecords.unfenceBroker(b.getKey(), b.getValue())).get(10, TimeUnit.SECONDS);
        }
        assertThat(fenced(2)).isFalse();
        assertThat(fenced(3)).isFalse();
        Context context = vertx.getOrCreateContext();
        controller = new QuorumController(context, quorum, SESSION_MS);
    }

    @AfterEach
    void stop() throws Exception {
        if (controller != null) {
            controller.stop();
        }
        if (quorum != null) {
            quorum.close();
        }
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void fencesNothingBeforeItHasMembershipToGoBy() throws Exception {
        controller.leaderReady();
        Thread.sleep(SESSION_MS + 1000);
        assertThat(fenced(2)).as("broker 2, absent longer than the session timeout but never looked for").isFalse();
        assertThat(fenced(3)).isFalse();
    }

    @Test
    void fencesABrokerSeenLeavingAtOnceAndOneNeverSeenAfterTheSessionTimeout() throws Exception {
        FakeMembership members = new FakeMembership();
        members.live.put(2, two);
        long started = System.nanoTime();
        controller.start(members);
        awaitFenced(3);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started))
                .as("broker 3, never seen live, is fenced only after the session timeout")
                .isGreaterThanOrEqualTo(SESSION_MS);
        assertThat(fenced(2)).as("broker 2 is live").isFalse();

        long left = System.nanoTime();
        members.remove(2);
        awaitFenced(2);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - left))
                .as("broker 2 was seen live, so its leaving fences it at once").isLessThan(SESSION_MS);
    }

    @Test
    void aStoppedControllerFencesNothing() throws Exception {
        controller.start(new FakeMembership());
        controller.stop();
        Thread.sleep(SESSION_MS + 1000);
        assertThat(fenced(2)).isFalse();
        assertThat(fenced(3)).isFalse();
    }

    private boolean fenced(int nodeId) {
        return quorum.stateMachine().image().broker(nodeId).fenced();
    }

    private void awaitFenced(int nodeId) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!fenced(nodeId)) {
            assertThat(System.nanoTime()).as("broker %d fenced", nodeId).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private static final class FakeMembership implements Membership {
        final Map<Integer, Uuid> live = new ConcurrentHashMap<>();
        final List<Runnable> listeners = new CopyOnWriteArrayList<>();

        void remove(int nodeId) {
            live.remove(nodeId);
            listeners.forEach(Runnable::run);
        }

        @Override
        public Map<Integer, Uuid> liveBrokers() {
            return Map.copyOf(live);
        }

        @Override
        public void onChange(Runnable listener) {
            listeners.add(listener);
        }
    }
}
