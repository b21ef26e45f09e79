package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.server.leader.StepDownSafeLogAppender;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A leader that steps down while one of its log appenders hears a higher term must not deadlock (RATIS-2345 in
 * the Ratis 3.1 this project uses). The leader's event processor steps down holding the Raft server's monitor
 * and waits for every appender to stop; Ratis's default appender, told a higher term, waits for that same
 * monitor first, so neither moves again and the node never hears another leader. That is what left a controller
 * thawed after SIGSTOP without a leader for minutes in FaultSuiteIT. Here a thread holds the leader's monitor, as
 * the stepping-down event processor does, while the leader's appender is told of a higher term: the appender
 * must hand it on without waiting, and once the monitor is free the quorum has a leader again that every voter
 * follows.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MetadataQuorumStepDownTest {

    private static final String CLUSTER = "step-down-test";

    @RegisterExtension
    final QuorumFixture fx = new QuorumFixture(CLUSTER, 3);

    private static RaftServer.Division division(MetadataQuorum q) throws Exception {
        Field field = MetadataQuorum.class.getDeclaredField("server");
        field.setAccessible(true);
        return ((RaftServer) field.get(q)).getDivision(MetadataQuorum.groupId(CLUSTER));
    }

    /** The leader's log appenders (Ratis keeps them in package-private state; read here by reflection). */
    @SuppressWarnings("unchecked")
    private static List<LogAppender> appenders(RaftServer.Division leader) throws Exception {
        Method getRole = leader.getClass().getDeclaredMethod("getRole");
        getRole.setAccessible(true);
        Object role = getRole.invoke(leader);
        Method getLeaderState = role.getClass().getDeclaredMethod("getLeaderState");
        getLeaderState.setAccessible(true);
        Object leaderState = ((Optional<Object>) getLeaderState.invoke(role)).orElseThrow();
        Method getLogAppenders = leaderState.getClass().getDeclaredMethod("getLogAppenders");
        getLogAppenders.setAccessible(true);
        return ((Stream<LogAppender>) getLogAppenders.invoke(leaderState)).toList();
    }

    @Test
    void aLeaderToldOfAHigherTermWhileItsMonitorIsHeldStepsDownWithoutDeadlock() throws Exception {
        fx.startAll();
        int leader = fx.awaitLeader();
        RaftServer.Division division = division(fx.nodes.get(leader));
        long term = division.getInfo().getCurrentTerm();
        List<LogAppender> appenders = appenders(division);
        assertThat(appenders).hasSize(2).allMatch(a -> a instanceof StepDownSafeLogAppender);

        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            synchronized (division) {
                held.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "event-processor-stand-in");
        holder.start();
        try {
            assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<Boolean> told = CompletableFuture.supplyAsync(() -> appenders.get(0).onFollowerTerm(term + 1));
            // Ratis's default appender waits here for the monitor, forever had the holder been waiting for it
            assertThat(told.get(10, TimeUnit.SECONDS)).as("the appender handed the higher term on (a step-down)").isTrue();
        } finally {
            release.countDown();
            holder.join(10_000);
        }

        // the step-down ran once the monitor was free: a later term, a leader that every voter follows (the
        // step-down is a queued event: until it runs, the old leader is still ready at the old term)
        long before = term;
        QuorumFixture.await("a term after " + before, () -> fx.nodes.values().stream().anyMatch(q -> {
            try {
                return division(q).getInfo().getCurrentTerm() > before;
            } catch (Exception e) {
                return false;
            }
        }));
        int next = fx.awaitLeader();
        assertThat(division(fx.nodes.get(next)).getInfo().getCurrentTerm()).isGreaterThan(term);
        assertThat(fx.nodes.get(leader).propose(MetadataRecords.allocateProducerIds(leader, 10))
                .get(10, TimeUnit.SECONDS).getLong(MetadataQuorum.LOG_INDEX)).isPositive();
    }
}
