package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vertx.core.json.JsonObject;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.rpc.SupportedRpcType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Three voters in one JVM: a voter that proposed to the leader once still reaches it after that leader was
 * killed, came back (same address, new process) and leads again. Ratis's Netty client keeps one
 * connection per peer and never notices by itself that the peer behind it died, so the proposer has to
 * drop it (this was ClusterKillNineIT's "node back in every ISR" timeout: the ISR leader's AlterPartition
 * proposals went into the dead connection to the restarted controller for as long as that controller led).
 * And a proposal sent again with the same call id, as the proposer's retries are, is taken once, by the
 * leader that took it and by the next one.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MetadataQuorumRestartTest {

    private static final int REQUEST_TIMEOUT_MS = QuorumFixture.REQUEST_TIMEOUT_MS;

    @RegisterExtension
    final QuorumFixture fx = new QuorumFixture("restart-test", 3);

    private JsonObject propose(int from) throws Exception {
        return fx.nodes.get(from).propose(MetadataRecords.allocateProducerIds(from, 10))
                .get(2L * REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    /** Asks the quorum to hand leadership to {@code target}, as an operator's Raft admin call would. */
    private void transferLeadership(int target) throws Exception {
        List<RaftPeer> peers = new ArrayList<>();
        for (QuorumConfig.Voter v : fx.voters) {
            peers.add(RaftPeer.newBuilder().setId(MetadataQuorum.peerId(v.nodeId())).setAddress(v.address()).build());
        }
        RaftProperties props = new RaftProperties();
        RaftConfigKeys.Rpc.setType(props, SupportedRpcType.NETTY);
        RaftGroup group = RaftGroup.valueOf(MetadataQuorum.groupId(fx.cluster), peers);
        try (RaftClient admin = RaftClient.newBuilder().setRaftGroup(group).setProperties(props).build()) {
            RaftClientReply reply = admin.admin().transferLeadership(MetadataQuorum.peerId(target), 10_000);
            assertThat(reply.isSuccess()).as("leadership moved to %d: %s", target, reply.getException()).isTrue();
        }
    }

    @Test
    void aProposerReachesALeaderThatWasRestartedSinceItLastProposedToIt() throws Exception {
        fx.startAll();
        int leader = fx.awaitLeader();
        int proposer = leader % 3 + 1;
        propose(proposer);

        // kill the leader (its process gone, so its connections die with it) and bring it back at the same address
        fx.nodes.remove(leader).close();
        int interim = fx.awaitLeader();
        assertThat(interim).isNotEqualTo(leader);
        fx.start(leader);
        QuorumFixture.await("the restarted node to follow", () -> fx.nodes.get(leader).leaderId() == interim);
        // (if the proposer leads meanwhile, it still holds its connection to the old process)
        transferLeadership(leader);
        assertThat(fx.awaitLeader()).isEqualTo(leader);

        JsonObject applied = propose(proposer);
        assertThat(applied.getLong(MetadataQuorum.LOG_INDEX)).isPositive();
    }

    @Test
    void aProposalSentAgainIsTakenOnceEvenByTheNextLeader() throws Exception {
        fx.startAll();
        int leader = fx.awaitLeader();
        int proposer = leader % 3 + 1;
        MetadataQuorum q = fx.nodes.get(proposer);
        long callId = 1_000_000;
        JsonObject first = q.propose(MetadataRecords.allocateProducerIds(proposer, 10), callId)
                .get(2L * REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        JsonObject again = q.propose(MetadataRecords.allocateProducerIds(proposer, 10), callId)
                .get(2L * REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        assertThat(again).as("the same request again: the leader's retry cache answers it").isEqualTo(first);

        fx.nodes.remove(leader).close();
        fx.awaitLeader();
        JsonObject afterFailover = q.propose(MetadataRecords.allocateProducerIds(proposer, 10), callId)
                .get(2L * REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        assertThat(afterFailover).as("the same request to the next leader, which applied it as a follower")
                .isEqualTo(first);

        JsonObject fresh = propose(proposer);
        assertThat(fresh.getLong("first")).as("a new request is a new record, the first one's ids taken once")
                .isEqualTo(first.getLong("first") + 10);
    }

    /**
     * The leader's own proposals are submitted to its Raft server from MetadataQuorum's sender threads: Ratis
     * may block the submitting thread (a join inside submitClientRequestAsync held a shard worker for 100 s on a
     * leader thawed after SIGSTOP), and the proposer is a partition owner's context or an event loop. Here the
     * server blocks every submit for 2 s; propose must hand back its future at once and complete afterwards.
     */
    @Test
    void aLeaderWhoseRaftServerBlocksOnSubmitNeverBlocksTheProposer() throws Exception {
        fx.startAll();
        int leader = fx.awaitLeader();
        MetadataQuorum q = fx.nodes.get(leader);
        java.lang.reflect.Field field = MetadataQuorum.class.getDeclaredField("server");
        field.setAccessible(true);
        org.apache.ratis.server.RaftServer real = (org.apache.ratis.server.RaftServer) field.get(q);
        java.util.concurrent.atomic.AtomicReference<String> submitThread = new java.util.concurrent.atomic.AtomicReference<>();
        field.set(q, java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {org.apache.ratis.server.RaftServer.class}, (proxy, method, args) -> {
                    if (method.getName().equals("submitClientRequestAsync")) {
                        submitThread.set(Thread.currentThread().getName());
                        Thread.sleep(1500);
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                }));
        try {
            long start = System.nanoTime();
            java.util.concurrent.CompletableFuture<JsonObject> f = q.propose(MetadataRecords.allocateProducerIds(leader, 10));
            long returnedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(returnedMs).as("propose returned after %d ms while the Raft server blocked 1.5 s", returnedMs)
                    .isLessThan(1000);
            assertThat(f.get(30, TimeUnit.SECONDS).containsKey(MetadataQuorum.LOG_INDEX)).isTrue();
            assertThat(submitThread.get()).isNotEqualTo(Thread.currentThread().getName());
        } finally {
            field.set(q, real);
        }
    }
}
