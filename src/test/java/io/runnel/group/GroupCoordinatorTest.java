package io.runnel.group;

import static io.runnel.group.GroupFixture.await;
import static io.runnel.group.GroupFixture.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Future;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroup;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocol;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocolCollection;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData.MemberIdentity;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.ListGroupsResponseData.ListedGroup;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestPartition;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestTopic;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetDeleteRequestData.OffsetDeleteRequestPartition;
import org.apache.kafka.common.message.OffsetDeleteRequestData.OffsetDeleteRequestTopic;
import org.apache.kafka.common.message.OffsetDeleteRequestData.OffsetDeleteRequestTopicCollection;
import org.apache.kafka.common.message.OffsetDeleteResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopics;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseGroup;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponsePartitions;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupRequestData.SyncGroupRequestAssignment;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(value = 15, unit = TimeUnit.SECONDS)
class GroupCoordinatorTest {

    private static final String GROUP = "group-1";
    private static final short V = 9;
    private static final int SESSION_MS = 300;
    private static final int REBALANCE_MS = 1000;
    private static final Set<String> TOPICS = Set.of("t1", "t2");

    private final GroupConfig config = new GroupConfig(300, 100, 30_000, 10, 7L * 24 * 3600 * 1000, 600_000L, 4, 64);
    @RegisterExtension
    final GroupFixture fx = new GroupFixture(config, tp -> TOPICS.contains(tp.topic()) && tp.partition() < 3);

    private static byte[] subscription(String... topics) {
        ByteBuffer buf = ConsumerProtocol.serializeSubscription(new Subscription(List.of(topics)));
        byte[] out = new byte[buf.remaining()];
        buf.get(out);
        return out;
    }

    private static JoinGroupRequestData joinRequest(String memberId, String instanceId, String... topics) {
        JoinGroupRequestProtocolCollection protocols = new JoinGroupRequestProtocolCollection();
        protocols.add(new JoinGroupRequestProtocol().setName("range").setMetadata(subscription(topics)));
        return new JoinGroupRequestData().setGroupId(GROUP).setMemberId(memberId).setGroupInstanceId(instanceId)
                .setSessionTimeoutMs(SESSION_MS).setRebalanceTimeoutMs(REBALANCE_MS).setProtocolType("consumer")
                .setProtocols(protocols);
    }

    private Future<JoinGroupResponseData> join(JoinGroupRequestData request) {
        return fx.coordinator.joinGroup(request, V, "client", "/127.0.0.1");
    }

    /** The two-step dynamic join of v4+: MEMBER_ID_REQUIRED, then the parked join with the given id. */
    private Future<JoinGroupResponseData> joinDynamic(String... topics) {
        JoinGroupResponseData first = await(join(joinRequest("", null, topics)));
        assertThat(Errors.forCode(first.errorCode())).isEqualTo(Errors.MEMBER_ID_REQUIRED);
        assertThat(first.memberId()).startsWith("client-");
        return join(joinRequest(first.memberId(), null, topics));
    }

    private Future<SyncGroupResponseData> sync(String memberId, int generation, List<String> assignTo) {
        SyncGroupRequestData request = new SyncGroupRequestData().setGroupId(GROUP).setMemberId(memberId)
                .setGenerationId(generation).setProtocolType("consumer").setProtocolName("range");
        for (String m : assignTo) {
            request.assignments().add(new SyncGroupRequestAssignment().setMemberId(m)
                    .setAssignment(("assignment-" + m).getBytes(StandardCharsets.UTF_8)));
        }
        return fx.coordinator.syncGroup(request);
    }

    private Errors heartbeat(String memberId, String instanceId, int generation) {
        return Errors.forCode(await(fx.coordinator.heartbeat(new HeartbeatRequestData().setGroupId(GROUP)
                .setMemberId(memberId).setGroupInstanceId(instanceId).setGenerationId(generation))).errorCode());
    }

    private DescribedGroup describe(short version) {
        return await(fx.coordinator.describeGroups(List.of(GROUP), version)).get(0);
    }

    /** Forms a stable group of dynamic members; returns their join responses, leader first. */
    private List<JoinGroupResponseData> stableGroup(int members, String... topics) {
        List<Future<JoinGroupResponseData>> joins = new ArrayList<>();
        for (int i = 0; i < members; i++) {
            joins.add(joinDynamic(topics));
        }
        List<JoinGroupResponseData> responses = new ArrayList<>();
        joins.forEach(f -> responses.add(await(f)));
        responses.sort((a, b) -> a.memberId().equals(a.leader()) ? -1 : b.memberId().equals(b.leader()) ? 1 : 0);
        List<String> ids = responses.stream().map(JoinGroupResponseData::memberId).toList();
        int generation = responses.get(0).generationId();
        List<Future<SyncGroupResponseData>> syncs = new ArrayList<>();
        syncs.add(sync(ids.get(0), generation, ids));
        for (int i = 1; i < ids.size(); i++) {
            syncs.add(sync(ids.get(i), generation, List.of()));
        }
        syncs.forEach(f -> assertThat(await(f).errorCode()).isEqualTo(Errors.NONE.code()));
        return responses;
    }

    private OffsetCommitResponseData commit(String memberId, int generation, String topic, int partition, long offset,
                                            String metadata) {
        OffsetCommitRequestData request = new OffsetCommitRequestData().setGroupId(GROUP).setMemberId(memberId)
                .setGenerationIdOrMemberEpoch(generation);
        request.topics().add(new OffsetCommitRequestTopic().setName(topic).setPartitions(List.of(
                new OffsetCommitRequestPartition().setPartitionIndex(partition).setCommittedOffset(offset)
                        .setCommittedLeaderEpoch(4).setCommittedMetadata(metadata))));
        return await(fx.coordinator.commitOffsets(request, V));
    }

    private static Errors commitError(OffsetCommitResponseData r) {
        return Errors.forCode(r.topics().get(0).partitions().get(0).errorCode());
    }

    private OffsetFetchResponsePartitions fetch(String topic, int partition) {
        OffsetFetchResponseGroup g = await(fx.coordinator.fetchOffsets(GROUP, List.of(new OffsetFetchRequestTopics()
                .setName(topic).setPartitionIndexes(List.of(partition))), false));
        assertThat(g.errorCode()).isEqualTo(Errors.NONE.code());
        return g.topics().get(0).partitions().get(0);
    }

    @Test
    void twoMembersJoinAndSyncReceiveTheLeadersAssignment() {
        Future<JoinGroupResponseData> a = joinDynamic("t1");
        Future<JoinGroupResponseData> b = joinDynamic("t1", "t2");
        JoinGroupResponseData ra = await(a);
        JoinGroupResponseData rb = await(b);
        assertThat(ra.errorCode()).isZero();
        assertThat(rb.errorCode()).isZero();
        assertThat(ra.generationId()).isEqualTo(1).isEqualTo(rb.generationId());
        assertThat(ra.protocolName()).isEqualTo("range");
        assertThat(ra.leader()).isEqualTo(rb.leader()).isEqualTo(ra.memberId());
        assertThat(ra.members()).extracting(m -> m.memberId()).containsExactlyInAnyOrder(ra.memberId(), rb.memberId());
        assertThat(rb.members()).isEmpty();
        assertThat(describe((short) 5).groupState()).isEqualTo("CompletingRebalance");

        // the follower's sync waits for the leader's assignment
        Future<SyncGroupResponseData> followerSync = sync(rb.memberId(), 1, List.of());
        assertThat(followerSync.isComplete()).isFalse();
        SyncGroupResponseData leaderSync = await(sync(ra.memberId(), 1, List.of(ra.memberId(), rb.memberId())));
        assertThat(new String(leaderSync.assignment(), StandardCharsets.UTF_8)).isEqualTo("assignment-" + ra.memberId());
        SyncGroupResponseData fs = await(followerSync);
        assertThat(fs.errorCode()).isZero();
        assertThat(new String(fs.assignment(), StandardCharsets.UTF_8)).isEqualTo("assignment-" + rb.memberId());
        assertThat(fs.protocolName()).isEqualTo("range");

        DescribedGroup d = describe((short) 5);
        assertThat(d.groupState()).isEqualTo("Stable");
        assertThat(d.protocolType()).isEqualTo("consumer");
        assertThat(d.protocolData()).isEqualTo("range");
        assertThat(d.members()).hasSize(2);
        assertThat(heartbeat(ra.memberId(), null, 1)).isEqualTo(Errors.NONE);
    }

    @Test
    void memberExpiresAfterSessionTimeoutAndTheOthersRebalance() throws InterruptedException {
        List<JoinGroupResponseData> members = stableGroup(2, "t1");
        String a = members.get(0).memberId();
        String b = members.get(1).memberId();
        // only A heartbeats; B's session of 300 ms runs out
        Errors seen = Errors.NONE;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (seen == Errors.NONE && System.nanoTime() < deadline) {
            Thread.sleep(80);
            seen = heartbeat(a, null, 1);
        }
        assertThat(seen).isEqualTo(Errors.REBALANCE_IN_PROGRESS);
        JoinGroupResponseData rejoin = await(join(joinRequest(a, null, "t1")));
        assertThat(rejoin.generationId()).isEqualTo(2);
        assertThat(rejoin.members()).extracting(m -> m.memberId()).containsExactly(a);
        assertThat(heartbeat(b, null, 1)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
    }

    @Test
    void memberThatNeverSyncsIsRemovedAfterTheRebalanceTimeout() throws InterruptedException {
        Future<JoinGroupResponseData> a = joinDynamic("t1");
        Future<JoinGroupResponseData> b = joinDynamic("t1");
        JoinGroupResponseData ra = await(a);
        JoinGroupResponseData rb = await(b);
        String leader = ra.memberId().equals(ra.leader()) ? ra.memberId() : rb.memberId();
        String follower = leader.equals(ra.memberId()) ? rb.memberId() : ra.memberId();
        assertThat(await(sync(leader, 1, List.of(leader, follower))).errorCode()).isZero();
        // the follower heartbeats but never syncs: after the rebalance timeout (1 s) it is removed and the
        // group rebalances
        long start = System.nanoTime();
        Errors seen = Errors.NONE;
        long deadline = start + TimeUnit.SECONDS.toNanos(3);
        while (seen == Errors.NONE && System.nanoTime() < deadline) {
            Thread.sleep(80);
            heartbeat(follower, null, 1);
            seen = heartbeat(leader, null, 1);
        }
        assertThat(seen).isEqualTo(Errors.REBALANCE_IN_PROGRESS);
        assertThat(heartbeat(follower, null, 1)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        assertThat(System.nanoTime() - start).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(800));
        JoinGroupResponseData rejoin = await(join(joinRequest(leader, null, "t1")));
        assertThat(rejoin.generationId()).isEqualTo(2);
        assertThat(rejoin.members()).extracting(m -> m.memberId()).containsExactly(leader);
    }

    @Test
    void newMemberTriggersRebalanceOfStableGroup() {
        String a = stableGroup(1, "t1").get(0).memberId();
        Future<JoinGroupResponseData> b = joinDynamic("t2");
        assertThat(heartbeat(a, null, 1)).isEqualTo(Errors.REBALANCE_IN_PROGRESS);
        assertThat(describe((short) 5).groupState()).isEqualTo("PreparingRebalance");
        JoinGroupResponseData ra = await(join(joinRequest(a, null, "t1")));
        JoinGroupResponseData rb = await(b);
        assertThat(ra.generationId()).isEqualTo(2).isEqualTo(rb.generationId());
        assertThat(ra.leader()).isEqualTo(a);
        assertThat(ra.members()).hasSize(2);
        // a sync of the old generation is refused
        assertThat(await(sync(a, 1, List.of())).errorCode()).isEqualTo(Errors.ILLEGAL_GENERATION.code());
    }

    @Test
    void leaveGroupRebalancesAndTheLastLeaveEmptiesTheGroup() {
        List<JoinGroupResponseData> members = stableGroup(2, "t1");
        String a = members.get(0).memberId();
        String b = members.get(1).memberId();
        LeaveGroupResponseData leave = await(fx.coordinator.leaveGroup(GROUP, List.of(
                new MemberIdentity().setMemberId(b), new MemberIdentity().setMemberId("nobody"))));
        assertThat(leave.errorCode()).isZero();
        assertThat(leave.members()).extracting(m -> Errors.forCode(m.errorCode()))
                .containsExactly(Errors.NONE, Errors.UNKNOWN_MEMBER_ID);
        assertThat(heartbeat(a, null, 1)).isEqualTo(Errors.REBALANCE_IN_PROGRESS);
        JoinGroupResponseData ra = await(join(joinRequest(a, null, "t1")));
        assertThat(ra.generationId()).isEqualTo(2);
        assertThat(ra.members()).hasSize(1);
        await(fx.coordinator.leaveGroup(GROUP, List.of(new MemberIdentity().setMemberId(a))));
        DescribedGroup d = describe((short) 5);
        assertThat(d.groupState()).isEqualTo("Empty");
        assertThat(d.members()).isEmpty();
        LeaveGroupResponseData unknownGroup = await(fx.coordinator.leaveGroup("no-such-group",
                List.of(new MemberIdentity().setMemberId(a))));
        assertThat(unknownGroup.errorCode()).isZero();
        assertThat(unknownGroup.members().get(0).errorCode()).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
    }

    @Test
    void staticMemberRejoinTakesOverWithoutRebalanceAndFencesTheOldId() {
        JoinGroupResponseData first = await(join(joinRequest("", "instance-1", "t1")));
        assertThat(first.errorCode()).isZero();
        assertThat(first.generationId()).isEqualTo(1);
        String oldId = first.memberId();
        assertThat(await(sync(oldId, 1, List.of(oldId))).errorCode()).isZero();

        // the instance restarts and joins with no member id
        JoinGroupResponseData again = await(join(joinRequest("", "instance-1", "t1")));
        assertThat(again.errorCode()).isZero();
        assertThat(again.memberId()).isNotEqualTo(oldId);
        assertThat(again.generationId()).isEqualTo(1);
        assertThat(again.skipAssignment()).isTrue();
        assertThat(describe((short) 5).groupState()).isEqualTo("Stable");
        SyncGroupResponseData resync = await(sync(again.memberId(), 1, List.of()));
        assertThat(new String(resync.assignment(), StandardCharsets.UTF_8)).isEqualTo("assignment-" + oldId);

        assertThat(heartbeat(oldId, "instance-1", 1)).isEqualTo(Errors.FENCED_INSTANCE_ID);
        assertThat(heartbeat(again.memberId(), "instance-1", 1)).isEqualTo(Errors.NONE);
        assertThat(await(sync(oldId, 1, List.of())).errorCode()).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
        LeaveGroupResponseData leave = await(fx.coordinator.leaveGroup(GROUP, List.of(
                new MemberIdentity().setMemberId(oldId).setGroupInstanceId("instance-1"))));
        assertThat(leave.members().get(0).errorCode()).isEqualTo(Errors.FENCED_INSTANCE_ID.code());
    }

    @Test
    void illegalGenerationIsRefusedByHeartbeatSyncAndCommit() {
        String a = stableGroup(1, "t1").get(0).memberId();
        assertThat(heartbeat(a, null, 7)).isEqualTo(Errors.ILLEGAL_GENERATION);
        assertThat(await(sync(a, 7, List.of())).errorCode()).isEqualTo(Errors.ILLEGAL_GENERATION.code());
        assertThat(commitError(commit(a, 7, "t1", 0, 5, ""))).isEqualTo(Errors.ILLEGAL_GENERATION);
        assertThat(heartbeat("stranger", null, 1)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
    }

    @Test
    void invalidSessionTimeoutAndGroupMaxSize() {
        JoinGroupRequestData tooShort = joinRequest("", null, "t1").setSessionTimeoutMs(50);
        assertThat(await(join(tooShort)).errorCode()).isEqualTo(Errors.INVALID_SESSION_TIMEOUT.code());
        fx.restart(new GroupConfig(0, 100, 30_000, 1, 600_000L, 600_000L, 4, 64));
        String a = stableGroup(1, "t1").get(0).memberId();
        JoinGroupResponseData first = await(join(joinRequest("", null, "t1")));
        JoinGroupResponseData second = await(join(joinRequest(first.memberId(), null, "t1")));
        assertThat(second.errorCode()).isEqualTo(Errors.GROUP_MAX_SIZE_REACHED.code());
        assertThat(heartbeat(a, null, 1)).isEqualTo(Errors.NONE);
    }

    @Test
    void simpleCommitAndFetchOffsets() {
        assertThat(commitError(commit("", -1, "t1", 0, 42, "hello"))).isEqualTo(Errors.NONE);
        assertThat(commitError(commit("", -1, "t2", 1, 7, null))).isEqualTo(Errors.NONE);
        OffsetFetchResponsePartitions p = fetch("t1", 0);
        assertThat(p.committedOffset()).isEqualTo(42);
        assertThat(p.committedLeaderEpoch()).isEqualTo(4);
        assertThat(p.metadata()).isEqualTo("hello");
        assertThat(fetch("t1", 2).committedOffset()).isEqualTo(-1);
        assertThat(fetch("t2", 1).metadata()).isEqualTo("");

        OffsetFetchResponseGroup all = await(fx.coordinator.fetchOffsets(GROUP, null, true));
        assertThat(all.topics()).extracting(t -> t.name()).containsExactly("t1", "t2");
        OffsetFetchResponseGroup unknown = await(fx.coordinator.fetchOffsets("other", null, false));
        assertThat(unknown.topics()).isEmpty();

        assertThat(commitError(commit("", -1, "nope", 0, 1, ""))).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION);
        assertThat(commitError(commit("", -1, "t1", 9, 1, ""))).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION);
        assertThat(commitError(commit("", -1, "t1", 0, 1, "x".repeat(65)))).isEqualTo(Errors.OFFSET_METADATA_TOO_LARGE);
        assertThat(fetch("t1", 0).committedOffset()).isEqualTo(42);

        ListedGroup listed = await(fx.coordinator.listGroups(List.of(), List.of())).groups().get(0);
        assertThat(listed.groupId()).isEqualTo(GROUP);
        assertThat(listed.protocolType()).isEmpty();
        assertThat(listed.groupState()).isEqualTo("Empty");
    }

    @Test
    void offsetsBecomeVisibleOnceAppendedAndStableFetchWaitsForThem() {
        CountDownLatch slowDisk = new CountDownLatch(1);
        fx.log.gate = slowDisk;
        OffsetCommitRequestData request = new OffsetCommitRequestData().setGroupId(GROUP).setMemberId("")
                .setGenerationIdOrMemberEpoch(-1);
        request.topics().add(new OffsetCommitRequestTopic().setName("t1").setPartitions(List.of(
                new OffsetCommitRequestPartition().setPartitionIndex(0).setCommittedOffset(42))));
        Future<OffsetCommitResponseData> pending = fx.coordinator.commitOffsets(request, V);
        List<OffsetFetchRequestTopics> t1p0 = List.of(new OffsetFetchRequestTopics().setName("t1")
                .setPartitionIndexes(List.of(0)));
        Future<OffsetFetchResponseGroup> stable = fx.coordinator.fetchOffsets(GROUP, t1p0, true);
        // the context runs tasks in order: once this plain fetch is answered the stable one has been seen
        assertThat(await(fx.coordinator.fetchOffsets(GROUP, t1p0, false)).topics().get(0).partitions().get(0)
                .committedOffset()).isEqualTo(-1);
        assertThat(pending.isComplete()).isFalse();
        assertThat(stable.isComplete()).isFalse();
        fx.log.gate = null;
        slowDisk.countDown();
        assertThat(commitError(await(pending))).isEqualTo(Errors.NONE);
        assertThat(await(stable).topics().get(0).partitions().get(0).committedOffset()).isEqualTo(42);
    }

    @Test
    void commitOfAStaleGenerationOrWithoutMemberIsRefusedWhileTheGroupIsActive() {
        List<JoinGroupResponseData> members = stableGroup(1, "t1");
        String a = members.get(0).memberId();
        assertThat(commitError(commit(a, 1, "t1", 0, 10, ""))).isEqualTo(Errors.NONE);
        // a second member forces generation 2
        Future<JoinGroupResponseData> b = joinDynamic("t1");
        await(join(joinRequest(a, null, "t1")));
        int generation = await(b).generationId();
        assertThat(generation).isEqualTo(2);
        // the generation is complete but not synced yet
        assertThat(commitError(commit(a, 2, "t1", 0, 11, ""))).isEqualTo(Errors.REBALANCE_IN_PROGRESS);
        assertThat(commitError(commit(a, 1, "t1", 0, 11, ""))).isEqualTo(Errors.ILLEGAL_GENERATION);
        assertThat(commitError(commit("", -1, "t1", 0, 11, ""))).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        assertThat(fetch("t1", 0).committedOffset()).isEqualTo(10);
        OffsetCommitRequestData unknownGroup = new OffsetCommitRequestData().setGroupId("ghost").setMemberId("m")
                .setGenerationIdOrMemberEpoch(3);
        unknownGroup.topics().add(new OffsetCommitRequestTopic().setName("t1").setPartitions(List.of(
                new OffsetCommitRequestPartition().setPartitionIndex(0).setCommittedOffset(1))));
        assertThat(commitError(await(fx.coordinator.commitOffsets(unknownGroup, (short) 9))))
                .isEqualTo(Errors.GROUP_ID_NOT_FOUND);
        assertThat(commitError(await(fx.coordinator.commitOffsets(unknownGroup, (short) 8))))
                .isEqualTo(Errors.ILLEGAL_GENERATION);
    }

    @Test
    void failedAppendIsReportedAndLeavesNoOffset() {
        fx.log.failAppends = true;
        assertThat(commitError(commit("", -1, "t1", 0, 42, ""))).isEqualTo(Errors.NOT_COORDINATOR);
        fx.log.failAppends = false;
        assertThat(fetch("t1", 0).committedOffset()).isEqualTo(-1);
        assertThat(await(fx.coordinator.listGroups(List.of(), List.of())).groups()).isEmpty();
    }

    @Test
    void deleteGroupsRefusesActiveGroupsAndRemovesEmptyOnes() {
        String a = stableGroup(1, "t1").get(0).memberId();
        assertThat(commitError(commit(a, 1, "t1", 0, 10, ""))).isEqualTo(Errors.NONE);
        var results = await(fx.coordinator.deleteGroups(List.of(GROUP, "missing")));
        assertThat(results.find(GROUP).errorCode()).isEqualTo(Errors.NON_EMPTY_GROUP.code());
        assertThat(results.find("missing").errorCode()).isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());

        await(fx.coordinator.leaveGroup(GROUP, List.of(new MemberIdentity().setMemberId(a))));
        assertThat(await(fx.coordinator.deleteGroups(List.of(GROUP))).find(GROUP).errorCode()).isZero();
        assertThat(describe((short) 5).groupState()).isEqualTo("Dead");
        assertThat(describe((short) 6).errorCode()).isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());
        assertThat(fetch("t1", 0).committedOffset()).isEqualTo(-1);

        // and the deletion is in the log
        fx.restart(config);
        assertThat(await(fx.coordinator.listGroups(List.of(), List.of())).groups()).isEmpty();
    }

    @Test
    void offsetDeleteRefusesTopicsTheMembersSubscribeTo() {
        String a = stableGroup(1, "t1").get(0).memberId();
        assertThat(commitError(commit(a, 1, "t1", 0, 10, ""))).isEqualTo(Errors.NONE);
        assertThat(commitError(commit(a, 1, "t2", 0, 20, ""))).isEqualTo(Errors.NONE);
        OffsetDeleteRequestTopicCollection topics = new OffsetDeleteRequestTopicCollection();
        topics.add(new OffsetDeleteRequestTopic().setName("t1")
                .setPartitions(List.of(new OffsetDeleteRequestPartition().setPartitionIndex(0))));
        topics.add(new OffsetDeleteRequestTopic().setName("t2")
                .setPartitions(List.of(new OffsetDeleteRequestPartition().setPartitionIndex(0))));
        OffsetDeleteResponseData r = await(fx.coordinator.deleteOffsets(new OffsetDeleteRequestData().setGroupId(GROUP)
                .setTopics(topics)));
        assertThat(r.errorCode()).isZero();
        assertThat(r.topics().find("t1").partitions().find(0).errorCode())
                .isEqualTo(Errors.GROUP_SUBSCRIBED_TO_TOPIC.code());
        assertThat(r.topics().find("t2").partitions().find(0).errorCode()).isZero();
        assertThat(fetch("t1", 0).committedOffset()).isEqualTo(10);
        assertThat(fetch("t2", 0).committedOffset()).isEqualTo(-1);
        assertThat(await(fx.coordinator.deleteOffsets(new OffsetDeleteRequestData().setGroupId("missing"))).errorCode())
                .isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());
    }

    @Test
    void restartReplaysOffsetsAndGroupMetadataFromTheLog() throws InterruptedException {
        String a = stableGroup(1, "t1").get(0).memberId();
        assertThat(commitError(commit(a, 1, "t1", 0, 10, "m1"))).isEqualTo(Errors.NONE);
        assertThat(commitError(commit(a, 1, "t1", 0, 11, "m2"))).isEqualTo(Errors.NONE);
        assertThat(commitError(commit(a, 1, "t2", 1, 30, ""))).isEqualTo(Errors.NONE);
        await(fx.coordinator.leaveGroup(GROUP, List.of(new MemberIdentity().setMemberId(a))));
        // assignment, three commits, and the Empty snapshot written when the last member left
        eventually(() -> fx.log.recordCount() == 5);

        await(fx.coordinator.close());
        assertThat(fx.log.closed).isTrue();
        fx.coordinator = fx.start(config);
        OffsetFetchResponsePartitions p = fetch("t1", 0);
        assertThat(p.committedOffset()).isEqualTo(11);
        assertThat(p.metadata()).isEqualTo("m2");
        assertThat(fetch("t2", 1).committedOffset()).isEqualTo(30);
        ListedGroup listed = await(fx.coordinator.listGroups(List.of("empty"), List.of("classic"))).groups().get(0);
        assertThat(listed.groupId()).isEqualTo(GROUP);
        assertThat(listed.protocolType()).isEqualTo("consumer");
        assertThat(listed.groupState()).isEqualTo("Empty");
        DescribedGroup d = describe((short) 5);
        assertThat(d.groupState()).isEqualTo("Empty");
        assertThat(d.protocolType()).isEqualTo("consumer");
        // the next generation continues from the persisted one
        JoinGroupResponseData rejoin = await(joinDynamic("t1"));
        assertThat(rejoin.generationId()).isEqualTo(3);
    }

    @Test
    void restartRestoresAStableGroupWhoseMembersThenExpire() throws InterruptedException {
        String a = stableGroup(1, "t1").get(0).memberId();
        fx.restart(config);
        DescribedGroup d = describe((short) 5);
        assertThat(d.groupState()).isEqualTo("Stable");
        assertThat(d.members()).extracting(m -> m.memberId()).containsExactly(a);
        assertThat(new String(d.members().get(0).memberAssignment(), StandardCharsets.UTF_8))
                .isEqualTo("assignment-" + a);
        eventually(() -> describe((short) 5).groupState().equals("Empty"));
    }

    @Test
    void aStableConsumerGroupLosesOnlyOffsetsOfTopicsItNoLongerSubscribes() throws InterruptedException {
        fx.restart(new GroupConfig(0, 100, 30_000, 10, 300L, 50L, 4, 64));
        String a = stableGroup(1, "t1").get(0).memberId();
        assertThat(commitError(commit(a, 1, "t1", 0, 10, ""))).isEqualTo(Errors.NONE);
        assertThat(commitError(commit(a, 1, "t2", 0, 20, ""))).isEqualTo(Errors.NONE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
        while (fetch("t2", 0).committedOffset() != -1) {
            assertThat(System.nanoTime()).as("t2 offset expired in time").isLessThan(deadline);
            assertThat(heartbeat(a, null, 1)).isEqualTo(Errors.NONE);
            Thread.sleep(60);
        }
        assertThat(fetch("t1", 0).committedOffset()).isEqualTo(10);
        assertThat(describe((short) 5).groupState()).isEqualTo("Stable");
    }

    @Test
    void groupsOfAPartitionNotLedHereGetNotCoordinator() {
        GroupCoordinator follower = fx.following(config, new InMemoryOffsetsLog());
        JoinGroupResponseData r = await(follower.joinGroup(joinRequest("", null, "t1"), V, "c", "h"));
        assertThat(r.errorCode()).isEqualTo(Errors.NOT_COORDINATOR.code());
        assertThat(await(follower.fetchOffsets(GROUP, null, false)).errorCode())
                .isEqualTo(Errors.NOT_COORDINATOR.code());
        assertThat(await(follower.heartbeat(new HeartbeatRequestData().setGroupId(GROUP).setMemberId("m")
                .setGenerationId(3))).errorCode()).isEqualTo(Errors.NOT_COORDINATOR.code());
        await(follower.close());
    }

    @Test
    void requestsWhileThePartitionLoadsGetLoadInProgress() {
        InMemoryOffsetsLog slow = InMemoryOffsetsLog.loadingSlowly();
        GroupCoordinator loading = fx.following(config, slow);
        Future<Void> loaded = loading.onElected(loading.partitionFor(GROUP));
        JoinGroupResponseData r = await(loading.joinGroup(joinRequest("", null, "t1"), V, "c", "h"));
        assertThat(r.errorCode()).isEqualTo(Errors.COORDINATOR_LOAD_IN_PROGRESS.code());
        assertThat(await(loading.fetchOffsets(GROUP, null, false)).errorCode())
                .isEqualTo(Errors.COORDINATOR_LOAD_IN_PROGRESS.code());
        assertThat(await(loading.heartbeat(new HeartbeatRequestData().setGroupId(GROUP).setMemberId("m")
                .setGenerationId(3))).errorCode()).isEqualTo(Errors.NONE.code());
        slow.loadGate.countDown();
        await(loaded);
        assertThat(await(loading.fetchOffsets(GROUP, null, false)).errorCode()).isEqualTo(Errors.NONE.code());
        await(loading.close());
    }

    @Test
    void aNewLeaderOfTheOffsetsPartitionLoadsTheGroupsCommittedOnTheOldOne() {
        assertThat(commitError(commit("", -1, "t1", 0, 42, ""))).isEqualTo(Errors.NONE);
        int partition = fx.coordinator.partitionFor(GROUP);
        GroupCoordinator next = fx.following(config, fx.log);
        assertThat(await(next.fetchOffsets(GROUP, null, false)).errorCode()).isEqualTo(Errors.NOT_COORDINATOR.code());
        await(fx.coordinator.onResigned(partition));
        assertThat(await(fx.coordinator.fetchOffsets(GROUP, null, false)).errorCode())
                .isEqualTo(Errors.NOT_COORDINATOR.code());
        await(next.onElected(partition));
        OffsetFetchResponseGroup fetched = await(next.fetchOffsets(GROUP, null, false));
        assertThat(fetched.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(fetched.topics().get(0).partitions().get(0).committedOffset()).isEqualTo(42);
        // the other partitions stay with the first coordinator
        String elsewhere = otherGroupThan(partition);
        assertThat(await(fx.coordinator.fetchOffsets(elsewhere, null, false)).errorCode())
                .isEqualTo(Errors.NONE.code());
        assertThat(await(next.fetchOffsets(elsewhere, null, false)).errorCode()).isEqualTo(Errors.NOT_COORDINATOR.code());
        await(next.close());
    }

    @Test
    void resigningAnswersParkedJoinsWithNotCoordinator() {
        Future<JoinGroupResponseData> parked = fx.coordinator.joinGroup(joinRequest("", null, "t1"), (short) 3, "c",
                "h");
        // v3 has no MEMBER_ID_REQUIRED: the join waits in the group's initial rebalance delay
        await(fx.coordinator.onResigned(fx.coordinator.partitionFor(GROUP)));
        assertThat(await(parked).errorCode()).isEqualTo(Errors.NOT_COORDINATOR.code());
    }

    private String otherGroupThan(int partition) {
        for (int i = 0; ; i++) {
            String g = "other-" + i;
            if (fx.coordinator.partitionFor(g) != partition) {
                return g;
            }
        }
    }

    @Test
    void offsetsOfAnEmptyGroupExpireAfterRetention() throws InterruptedException {
        fx.restart(new GroupConfig(0, 100, 30_000, 10, 300L, 50L, 4, 64));
        assertThat(commitError(commit("", -1, "t1", 0, 42, ""))).isEqualTo(Errors.NONE);
        assertThat(fetch("t1", 0).committedOffset()).isEqualTo(42);
        eventually(() -> fetch("t1", 0).committedOffset() == -1);
        eventually(() -> await(fx.coordinator.listGroups(List.of(), List.of())).groups().isEmpty());
    }
}
