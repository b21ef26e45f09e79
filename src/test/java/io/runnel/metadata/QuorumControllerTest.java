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
 * The controller turns membership into fence records, on a real quorum: a broker it saw leave at once, one it
 * never saw as a member only once it has also been silent to the quorum for the session timeout (before
 * Hazelcast has joined, and for a broker in a Hazelcast cluster of its own), an older process of its own node
 * id at once, and nothing once stopped.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class QuorumControllerTest {

    private static final long SESSION_MS = 1500;
    /** The controller checks every half second; the quorum's last contact can predate the close a little. */
    private static final long CHECK_SLACK_MS = 600;

    @TempDir
    Path dir;

    private Vertx vertx;
    private MetadataQuorum quorum;
    private QuorumController controller;
    private final Uuid two = Uuid.randomUuid();
    private final Uuid three = Uuid.randomUuid();
    private final Uuid self = Uuid.randomUuid();

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
        controller = new QuorumController(context, quorum, 1, self, SESSION_MS);
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
    void withoutMembershipFencesOnlyBrokersTheQuorumHasNotHeardForTheSessionTimeout() throws Exception {
        long started = System.nanoTime();
        controller.leaderReady();
        Thread.sleep(SESSION_MS / 2);
        assertThat(fenced(2)).as("broker 2, within the session timeout").isFalse();
        awaitFenced(2);
        awaitFenced(3);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started))
                .as("brokers neither members nor quorum members are fenced after the session timeout")
                .isGreaterThanOrEqualTo(SESSION_MS);
    }

    @Test
    void aBrokerThatAnswersTheQuorumIsNotFencedForBeingNoMember() throws Exception {
        // node 2 follows the log as a listener, but its Hazelcast member is in a cluster of its own
        QuorumConfig config = new QuorumConfig(List.of(new QuorumConfig.Voter(1, "127.0.0.1",
                quorum.boundPort())), false, dir.resolve("two").resolve(QuorumConfig.STORAGE_DIR_NAME), 2, 1000, 5000,
                1000);
        MetadataQuorum listener = new MetadataQuorum(config, "controller-test",
                new MetadataStateMachine(new MetadataImage(o -> false)));
        try {
            listener.start("127.0.0.1", 0);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!quorum.silenceMs().containsKey(2)) {
                assertThat(System.nanoTime()).as("the leader sends node 2 the log").isLessThan(deadline);
                Thread.sleep(20);
            }
            controller.start(new FakeMembership());
            awaitFenced(3);
            Thread.sleep(SESSION_MS);
            assertThat(fenced(2)).as("broker 2 answers the quorum").isFalse();

            // how long the leader had already not heard from it: on a busy machine, up to several heartbeats
            long silentAtClose = quorum.silenceMs().getOrDefault(2, 0L);
            listener.close();
            long closed = System.nanoTime();
            awaitFenced(2);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closed) + silentAtClose)
                    .as("broker 2 is fenced once the quorum has not heard from it for the session timeout")
                    .isGreaterThanOrEqualTo(SESSION_MS - CHECK_SLACK_MS);
        } finally {
            listener.close();
        }
    }

    @Test
    void fencesAnOlderProcessOfItsOwnNodeIdAtOnce() throws Exception {
        Uuid older = Uuid.randomUuid();
        quorum.propose(MetadataRecords.registerBroker(1, older, "127.0.0.1", 9001)).get(10, TimeUnit.SECONDS);
        quorum.propose(MetadataRecords.unfenceBroker(1, older)).get(10, TimeUnit.SECONDS);
        long started = System.nanoTime();
        controller.leaderReady();
        awaitFenced(1);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isLessThan(SESSION_MS);
        quorum.propose(MetadataRecords.registerBroker(1, self, "127.0.0.1", 9001)).get(10, TimeUnit.SECONDS);
        quorum.propose(MetadataRecords.unfenceBroker(1, self)).get(10, TimeUnit.SECONDS);
        Thread.sleep(SESSION_MS + 1000);
        assertThat(fenced(1)).as("this process itself").isFalse();
    }

    @Test
    void aNewerProcessAskingToRegisterFencesTheOlderOneAtOnce() throws Exception {
        // a long session, so that only the refused registration can explain a fence within it
        controller.stop();
        controller = new QuorumController(vertx.getOrCreateContext(), quorum, 1, self, 30_000);
        controller.start(new FakeMembership());
        Thread.sleep(2 * QuorumController.CHECK_INTERVAL_MS);
        assertThat(fenced(2)).as("broker 2, never seen live, within the session timeout").isFalse();

        // node 2 restarted after kill -9: its new process asks to register before its member joins Hazelcast
        Uuid newer = Uuid.randomUuid();
        long asked = System.nanoTime();
        assertThat(quorum.propose(MetadataRecords.registerBroker(2, newer, "127.0.0.1", 9002)))
                .failsWithin(10, TimeUnit.SECONDS).withThrowableThat()
                .withRootCauseInstanceOf(org.apache.kafka.common.errors.DuplicateBrokerRegistrationException.class);
        awaitFenced(2);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - asked)).as("fenced after the refused registration")
                .isLessThan(10_000);
        quorum.propose(MetadataRecords.registerBroker(2, newer, "127.0.0.1", 9002)).get(10, TimeUnit.SECONDS);
        quorum.propose(MetadataRecords.unfenceBroker(2, newer)).get(10, TimeUnit.SECONDS);
        Thread.sleep(2 * QuorumController.CHECK_INTERVAL_MS);
        assertThat(fenced(2)).as("the newer process, registered, is not fenced for its own refused attempt").isFalse();
        assertThat(fenced(3)).as("broker 3, never seen live, within the session timeout").isFalse();
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
