package io.runnel.group;

import static io.runnel.group.GroupFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import io.runnel.api.TxnOffsetCommitHandler;
import io.runnel.security.Authentication;
import io.runnel.protocol.RequestContext;
import io.runnel.security.AclAuthorizer;
import io.runnel.security.AclIndex;
import io.vertx.core.Future;
import io.vertx.core.net.SocketAddress;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData.TxnOffsetCommitResponseTopic;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The TxnOffsetCommit handler: every served version, ACLs as Kafka checks them, and the v0-v1 error mapping. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class TxnOffsetCommitHandlerTest {

    private static final Node NODE = new Node(7, "127.0.0.1", 19092);
    private static final KafkaPrincipal ALICE = new KafkaPrincipal("User", "alice");

    @RegisterExtension
    final GroupFixture fx = new GroupFixture(GroupFixture.HANDLER_CONFIG, tp -> tp.topic().startsWith("t"));

    private RequestContext ctx(short version, AclAuthorizer authorizer) {
        return new RequestContext(new RequestHeader(ApiKeys.TXN_OFFSET_COMMIT, version, "client", 1),
                SocketAddress.inetSocketAddress(40000, "127.0.0.1"), fx.vertx.getOrCreateContext(), NODE, "conn-1",
                Authentication.complete("PLAINTEXT", ALICE), authorizer);
    }

    private static TxnOffsetCommitRequestData request(String group, String... topics) {
        TxnOffsetCommitRequestData r = new TxnOffsetCommitRequestData().setTransactionalId("tx").setGroupId(group)
                .setProducerId(9).setProducerEpoch((short) 0);
        for (String t : topics) {
            r.topics().add(new TxnOffsetCommitRequestTopic().setName(t).setPartitions(List.of(
                    new TxnOffsetCommitRequestPartition().setPartitionIndex(0).setCommittedOffset(5))));
        }
        return r;
    }

    /** Handles the request as the protocol layer would: a failed future becomes the API's error response. */
    private TxnOffsetCommitResponseData handle(TxnOffsetCommitHandler handler, short version, AclAuthorizer authorizer,
                                               TxnOffsetCommitRequestData request) {
        TxnOffsetCommitResponseData response;
        try {
            response = handler.handle(ctx(version, authorizer), request).toCompletionStage().toCompletableFuture()
                    .get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            AbstractRequest parsed = AbstractRequest.parseRequest(ApiKeys.TXN_OFFSET_COMMIT, version,
                    MessageUtil.toByteBufferAccessor(request, version)).request;
            response = (TxnOffsetCommitResponseData) parsed.getErrorResponse(e.getCause()).data();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        TxnOffsetCommitResponseData encoded = response;
        assertThatCode(() -> MessageUtil.toByteBufferAccessor(encoded, version))
                .as("v%d response encodes", version).doesNotThrowAnyException();
        return response;
    }

    private static Errors error(TxnOffsetCommitResponseData r, String topic) {
        for (TxnOffsetCommitResponseTopic t : r.topics()) {
            if (t.name().equals(topic)) {
                return Errors.forCode(t.partitions().get(0).errorCode());
            }
        }
        throw new AssertionError("no answer for " + topic);
    }

    @Test
    void everyServedVersionCommitsAndEncodes() {
        TxnOffsetCommitHandler handler = new TxnOffsetCommitHandler(fx.coordinator);
        assertThat(handler.minVersion()).isEqualTo((short) 0);
        assertThat(handler.maxVersion()).isEqualTo((short) 5);
        for (short v = 0; v <= handler.maxVersion(); v++) {
            TxnOffsetCommitResponseData r = handle(handler, v, null, request("g" + v, "t1"));
            assertThat(error(r, "t1")).as("v%d", v).isEqualTo(Errors.NONE);
        }
    }

    @Test
    void aclsAsKafkaChecksThem() {
        TxnOffsetCommitHandler handler = new TxnOffsetCommitHandler(fx.coordinator);
        AclBinding txnWrite = allow(ResourceType.TRANSACTIONAL_ID, "tx", AclOperation.WRITE);
        AclBinding groupRead = allow(ResourceType.GROUP, "g", AclOperation.READ);
        AclBinding topicRead = allow(ResourceType.TOPIC, "t1", AclOperation.READ);
        short v = 3;
        assertThat(error(handle(handler, v, authorizer(groupRead, topicRead), request("g", "t1")), "t1"))
                .isEqualTo(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        assertThat(error(handle(handler, v, authorizer(txnWrite, topicRead), request("g", "t1")), "t1"))
                .isEqualTo(Errors.GROUP_AUTHORIZATION_FAILED);
        TxnOffsetCommitResponseData mixed = handle(handler, v, authorizer(txnWrite, groupRead, topicRead),
                request("g", "t1", "t2"));
        assertThat(error(mixed, "t1")).isEqualTo(Errors.NONE);
        assertThat(error(mixed, "t2")).isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED);
    }

    @Test
    void aVerifierRefusalFailsEveryPartitionAndNothingIsWritten() {
        TxnOffsetCommitHandler handler = new TxnOffsetCommitHandler(fx.coordinator,
                (ctx, r) -> Future.succeededFuture(Errors.INVALID_TXN_STATE));
        TxnOffsetCommitResponseData r = handle(handler, (short) 4, null, request("gv", "t1", "t2"));
        assertThat(error(r, "t1")).isEqualTo(Errors.INVALID_TXN_STATE);
        assertThat(error(r, "t2")).isEqualTo(Errors.INVALID_TXN_STATE);
        assertThat(await(fx.coordinator.fetchOffsets("gv", null, true)).topics()).isEmpty();
        assertThat(await(fx.coordinator.listGroups(List.of(), List.of())).groups()).isEmpty();
    }

    @Test
    void oldClientsGetCoordinatorNotAvailableInsteadOfLoadInProgress() {
        InMemoryOffsetsLog slow = InMemoryOffsetsLog.loadingSlowly();
        GroupCoordinator loading = fx.following(GroupFixture.HANDLER_CONFIG, slow);
        try {
            loading.onElected(loading.partitionFor("gl"));
            TxnOffsetCommitHandler handler = new TxnOffsetCommitHandler(loading);
            assertThat(error(handle(handler, (short) 1, null, request("gl", "t1")), "t1"))
                    .isEqualTo(Errors.COORDINATOR_NOT_AVAILABLE);
            assertThat(error(handle(handler, (short) 2, null, request("gl", "t1")), "t1"))
                    .isEqualTo(Errors.COORDINATOR_LOAD_IN_PROGRESS);
        } finally {
            slow.loadGate.countDown();
            await(loading.close());
        }
    }

    private static AclBinding allow(ResourceType type, String name, AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, PatternType.LITERAL),
                new AccessControlEntry(ALICE.toString(), "*", op, AclPermissionType.ALLOW));
    }

    private static AclAuthorizer authorizer(AclBinding... acls) {
        AclIndex index = AclIndex.EMPTY.with(List.of(acls));
        return new AclAuthorizer(Set.of(), false, () -> index);
    }
}
