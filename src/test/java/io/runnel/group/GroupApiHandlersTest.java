package io.runnel.group;

import static io.runnel.group.GroupFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.List;
import java.util.concurrent.TimeUnit;

import io.runnel.api.ApiHandler;
import io.runnel.api.DeleteGroupsHandler;
import io.runnel.api.DescribeGroupsHandler;
import io.runnel.api.HeartbeatHandler;
import io.runnel.api.JoinGroupHandler;
import io.runnel.api.LeaveGroupHandler;
import io.runnel.api.ListGroupsHandler;
import io.runnel.api.OffsetCommitHandler;
import io.runnel.api.OffsetDeleteHandler;
import io.runnel.api.OffsetFetchHandler;
import io.runnel.api.SyncGroupHandler;
import io.runnel.protocol.RequestContext;
import io.vertx.core.net.SocketAddress;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.DescribeGroupsRequestData;
import org.apache.kafka.common.message.DescribeGroupsResponseData;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocol;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocolCollection;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.LeaveGroupRequestData.MemberIdentity;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestPartition;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestTopic;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestGroup;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopic;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopics;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupRequestData.SyncGroupRequestAssignment;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.requests.RequestHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Drives the group handlers at every served version and checks each response encodes at that version. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class GroupApiHandlersTest {

    private static final Node NODE = new Node(7, "127.0.0.1", 19092);

    @RegisterExtension
    final GroupFixture fx = new GroupFixture(GroupFixture.HANDLER_CONFIG, tp -> tp.topic().equals("t1"));

    private RequestContext ctx(ApiKeys api, short version) {
        return new RequestContext(new RequestHeader(api, version, "client", 1),
                SocketAddress.inetSocketAddress(40000, "127.0.0.1"), fx.vertx.getOrCreateContext(), NODE, "conn-1");
    }

    @SuppressWarnings("unchecked")
    private <Q extends ApiMessage, R extends ApiMessage> R call(ApiHandler<Q> handler, short version, Q request) {
        R response = (R) await(handler.handle(ctx(handler.apiKey(), version), request));
        assertThatCode(() -> MessageUtil.toByteBufferAccessor(response, version))
                .as("%s v%d response encodes", handler.apiKey(), version).doesNotThrowAnyException();
        return response;
    }

    private static JoinGroupRequestData joinRequest(String group, String memberId) {
        JoinGroupRequestProtocolCollection protocols = new JoinGroupRequestProtocolCollection();
        protocols.add(new JoinGroupRequestProtocol().setName("range").setMetadata(new byte[]{0, 1}));
        return new JoinGroupRequestData().setGroupId(group).setMemberId(memberId).setSessionTimeoutMs(10_000)
                .setRebalanceTimeoutMs(10_000).setProtocolType("consumer").setProtocols(protocols);
    }

    @Test
    void fullGroupLifecycleAtEveryJoinGroupVersion() {
        JoinGroupHandler join = new JoinGroupHandler(fx.coordinator);
        SyncGroupHandler sync = new SyncGroupHandler(fx.coordinator);
        HeartbeatHandler heartbeat = new HeartbeatHandler(fx.coordinator);
        LeaveGroupHandler leave = new LeaveGroupHandler(fx.coordinator);
        OffsetCommitHandler commit = new OffsetCommitHandler(fx.coordinator);
        for (short v = join.minVersion(); v <= join.maxVersion(); v++) {
            String group = "g" + v;
            JoinGroupResponseData joined = call(join, v, joinRequest(group, ""));
            if (v >= 4) {
                assertThat(joined.errorCode()).isEqualTo(Errors.MEMBER_ID_REQUIRED.code());
                joined = call(join, v, joinRequest(group, joined.memberId()));
            }
            assertThat(joined.errorCode()).as("join v%d", v).isZero();
            assertThat(joined.generationId()).isEqualTo(1);
            String memberId = joined.memberId();

            short syncVersion = (short) Math.min(v, sync.maxVersion());
            SyncGroupRequestData syncRequest = new SyncGroupRequestData().setGroupId(group).setMemberId(memberId)
                    .setGenerationId(1).setAssignments(List.of(new SyncGroupRequestAssignment().setMemberId(memberId)
                            .setAssignment(new byte[]{9})));
            SyncGroupResponseData synced = call(sync, syncVersion, syncRequest);
            assertThat(synced.errorCode()).isZero();
            assertThat(synced.assignment()).containsExactly(9);

            short hbVersion = (short) Math.min(v, heartbeat.maxVersion());
            assertThat(((ApiMessage) call(heartbeat, hbVersion, new HeartbeatRequestData().setGroupId(group)
                    .setMemberId(memberId).setGenerationId(1))).toString()).contains("errorCode=0");

            short commitVersion = (short) Math.max(commit.minVersion(), Math.min(v, commit.maxVersion()));
            OffsetCommitRequestData commitRequest = new OffsetCommitRequestData().setGroupId(group)
                    .setMemberId(memberId).setGenerationIdOrMemberEpoch(1).setTopics(List.of(
                            new OffsetCommitRequestTopic().setName("t1").setPartitions(List.of(
                                    new OffsetCommitRequestPartition().setPartitionIndex(0).setCommittedOffset(5)))));
            call(commit, commitVersion, commitRequest);

            short leaveVersion = (short) Math.min(v, leave.maxVersion());
            LeaveGroupRequestData leaveRequest = new LeaveGroupRequestData().setGroupId(group);
            if (leaveVersion >= 3) {
                leaveRequest.setMembers(List.of(new MemberIdentity().setMemberId(memberId)));
            } else {
                leaveRequest.setMemberId(memberId);
            }
            LeaveGroupResponseData left = call(leave, leaveVersion, leaveRequest);
            assertThat(left.errorCode()).isZero();
        }
    }

    @Test
    void legacyLeaveGroupReportsTheMemberErrorAtTopLevel() {
        LeaveGroupHandler leave = new LeaveGroupHandler(fx.coordinator);
        LeaveGroupResponseData r = call(leave, (short) 1, new LeaveGroupRequestData().setGroupId("nope")
                .setMemberId("m"));
        assertThat(r.errorCode()).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
    }

    @Test
    void offsetFetchAnswersInTheFormOfEachVersion() {
        OffsetCommitHandler commit = new OffsetCommitHandler(fx.coordinator);
        call(commit, (short) 2, new OffsetCommitRequestData().setGroupId("simple").setGenerationIdOrMemberEpoch(-1)
                .setTopics(List.of(new OffsetCommitRequestTopic().setName("t1").setPartitions(List.of(
                        new OffsetCommitRequestPartition().setPartitionIndex(1).setCommittedOffset(77))))));
        OffsetFetchHandler fetch = new OffsetFetchHandler(fx.coordinator);
        for (short v = fetch.minVersion(); v <= fetch.maxVersion(); v++) {
            OffsetFetchRequestData request = new OffsetFetchRequestData();
            if (v >= 8) {
                request.setGroups(List.of(new OffsetFetchRequestGroup().setGroupId("simple").setTopics(List.of(
                        new OffsetFetchRequestTopics().setName("t1").setPartitionIndexes(List.of(1, 2)))),
                        new OffsetFetchRequestGroup().setGroupId("other").setTopics(null)));
                OffsetFetchResponseData r = call(fetch, v, request);
                assertThat(r.groups()).hasSize(2);
                assertThat(r.groups().get(0).topics().get(0).partitions().get(0).committedOffset()).isEqualTo(77);
                assertThat(r.groups().get(0).topics().get(0).partitions().get(1).committedOffset()).isEqualTo(-1);
                assertThat(r.groups().get(1).topics()).isEmpty();
            } else {
                request.setGroupId("simple").setTopics(List.of(new OffsetFetchRequestTopic().setName("t1")
                        .setPartitionIndexes(List.of(1))));
                OffsetFetchResponseData r = call(fetch, v, request);
                assertThat(r.topics().get(0).partitions().get(0).committedOffset()).as("v%d", v).isEqualTo(77);
                if (v >= 2) {
                    request.setTopics(null);
                    OffsetFetchResponseData all = call(fetch, v, request);
                    assertThat(all.topics().get(0).partitions().get(0).committedOffset()).isEqualTo(77);
                }
            }
        }
    }

    @Test
    void adminApisEncodeAtEveryVersion() {
        OffsetCommitHandler commit = new OffsetCommitHandler(fx.coordinator);
        call(commit, (short) 9, new OffsetCommitRequestData().setGroupId("simple").setGenerationIdOrMemberEpoch(-1)
                .setTopics(List.of(new OffsetCommitRequestTopic().setName("t1").setPartitions(List.of(
                        new OffsetCommitRequestPartition().setPartitionIndex(0).setCommittedOffset(1))))));
        DescribeGroupsHandler describe = new DescribeGroupsHandler(fx.coordinator);
        for (short v = describe.minVersion(); v <= describe.maxVersion(); v++) {
            DescribeGroupsResponseData r = call(describe, v, new DescribeGroupsRequestData()
                    .setGroups(List.of("simple", "missing")).setIncludeAuthorizedOperations(v >= 3));
            assertThat(r.groups().get(0).groupState()).isEqualTo("Empty");
            assertThat(r.groups().get(1).errorCode())
                    .isEqualTo(v >= 6 ? Errors.GROUP_ID_NOT_FOUND.code() : Errors.NONE.code());
        }
        ListGroupsHandler list = new ListGroupsHandler(fx.coordinator);
        for (short v = list.minVersion(); v <= list.maxVersion(); v++) {
            ListGroupsResponseData r = call(list, v, new ListGroupsRequestData());
            assertThat(r.groups()).extracting(g -> g.groupId()).containsExactly("simple");
        }
        ListGroupsResponseData stable = call(list, (short) 4, new ListGroupsRequestData()
                .setStatesFilter(List.of("Stable")));
        assertThat(stable.groups()).isEmpty();
        ListGroupsResponseData consumerType = call(list, (short) 5, new ListGroupsRequestData()
                .setTypesFilter(List.of("consumer")));
        assertThat(consumerType.groups()).isEmpty();
        call(new OffsetDeleteHandler(fx.coordinator), (short) 0, new OffsetDeleteRequestData().setGroupId("simple"));
        DeleteGroupsHandler delete = new DeleteGroupsHandler(fx.coordinator);
        for (short v = delete.minVersion(); v <= delete.maxVersion(); v++) {
            call(delete, v, new DeleteGroupsRequestData().setGroupsNames(List.of("simple")));
        }
    }
}
