package io.runnel.api;

import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.acl.AclOperation;
import io.runnel.cluster.BrokerEndpoint;
import io.runnel.cluster.ClusterView;
import io.runnel.metadata.OffsetsTopic;
import io.runnel.cluster.PartitionState;
import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.runnel.txn.TransactionCoordinator;
import io.runnel.txn.TransactionStateTopic;
import io.vertx.core.Future;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.FindCoordinatorResponseData.Coordinator;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.FindCoordinatorRequest.CoordinatorType;

/**
 * FindCoordinator, as Kafka answers it: a group's coordinator is the leader of its
 * {@code __consumer_offsets} partition ({@code abs(groupId.hashCode()) % partitions}); while the topic
 * does not exist it is created and the answer is COORDINATOR_NOT_AVAILABLE, as it is while the partition
 * has no leader. On a single node that leader is this broker. A transactional id's coordinator is likewise the
 * leader of its {@code __transaction_state} partition. v4+ answers a batch of keys, older versions one key.
 *
 * <p>Served up to v5: v6 adds share-group keys, which Runnel does not coordinate.
 */
public final class FindCoordinatorHandler implements ApiHandler<FindCoordinatorRequestData> {

    private final GroupCoordinator coordinator;
    private final OffsetsTopic offsetsTopic;
    private final ClusterView cluster;
    private final TransactionCoordinator transactions;
    private final TransactionStateTopic transactionTopic;

    /** Groups only: transactional ids get COORDINATOR_NOT_AVAILABLE (tests of group coordination). */
    public FindCoordinatorHandler(GroupCoordinator coordinator, OffsetsTopic offsetsTopic, ClusterView cluster) {
        this(coordinator, offsetsTopic, cluster, null, null);
    }

    /**
     * @param cluster null on a single node, where every group is coordinated here
     */
    public FindCoordinatorHandler(GroupCoordinator coordinator, OffsetsTopic offsetsTopic, ClusterView cluster,
                                  TransactionCoordinator transactions, TransactionStateTopic transactionTopic) {
        this.coordinator = coordinator;
        this.offsetsTopic = offsetsTopic;
        this.cluster = cluster;
        this.transactions = transactions;
        this.transactionTopic = transactionTopic;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.FIND_COORDINATOR;
    }

    @Override
    public short maxVersion() {
        return 5;
    }

    /** A coordinator answer: the node, or an error with no node. */
    private record Answer(Errors error, String message, Node node) {
        static Answer of(Node node) {
            return new Answer(Errors.NONE, null, node);
        }

        static Answer error(Errors error, String message) {
            return new Answer(error, message, null);
        }

        int nodeId() {
            return node == null ? -1 : node.id();
        }

        String host() {
            return node == null ? "" : node.host();
        }

        int port() {
            return node == null ? -1 : node.port();
        }
    }

    @Override
    public Future<FindCoordinatorResponseData> handle(RequestContext ctx, FindCoordinatorRequestData request) {
        FindCoordinatorResponseData response = new FindCoordinatorResponseData();
        if (ctx.apiVersion() >= 4) {
            for (String key : request.coordinatorKeys()) {
                Answer a = answer(ctx, request.keyType(), key);
                response.coordinators().add(new Coordinator().setKey(key).setErrorCode(a.error().code())
                        .setErrorMessage(a.message()).setNodeId(a.nodeId()).setHost(a.host()).setPort(a.port()));
            }
            return Future.succeededFuture(response);
        }
        Answer a = answer(ctx, request.keyType(), request.key());
        response.setErrorCode(a.error().code()).setErrorMessage(ctx.apiVersion() >= 1 ? a.message() : null)
                .setNodeId(a.nodeId()).setHost(a.host()).setPort(a.port());
        return Future.succeededFuture(response);
    }

    private Answer answer(RequestContext ctx, byte keyType, String key) {
        // as Kafka: DESCRIBE on the group or transactional id the coordinator is asked for
        if (keyType == CoordinatorType.GROUP.id()
                && !ctx.authorized(AclOperation.DESCRIBE, ResourceType.GROUP, key == null ? "" : key)) {
            return Answer.error(Errors.GROUP_AUTHORIZATION_FAILED, Errors.GROUP_AUTHORIZATION_FAILED.message());
        }
        if (keyType == CoordinatorType.TRANSACTION.id()
                && !ctx.authorized(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, key == null ? "" : key)) {
            return Answer.error(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                    Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.message());
        }
        String topic;
        int partition;
        if (keyType == CoordinatorType.TRANSACTION.id()) {
            if (key == null || key.isEmpty()) {
                return Answer.error(Errors.INVALID_REQUEST, "Invalid transactional id");
            }
            if (transactions == null || !transactionTopic.existsOrCreate()) {
                return Answer.error(Errors.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.");
            }
            topic = TransactionStateTopic.NAME;
            partition = transactions.partitionFor(key);
        } else if (keyType == CoordinatorType.GROUP.id()) {
            if (!offsetsTopic.existsOrCreate()) {
                return Answer.error(Errors.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.");
            }
            topic = OffsetsTopic.NAME;
            partition = coordinator.partitionFor(key == null ? "" : key);
        } else {
            return Answer.error(Errors.INVALID_REQUEST, "Invalid coordinator key type " + keyType);
        }
        if (cluster == null) {
            return Answer.of(ctx.localNode());
        }
        PartitionState state = cluster.state(new TopicPartition(topic, partition));
        BrokerEndpoint leader = state == null || state.leader() < 0 ? null : cluster.endpoint(state.leader());
        if (leader != null) {
            leader = leader.on(ctx.listenerName());
        }
        if (leader == null) {
            return Answer.error(Errors.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.");
        }
        return Answer.of(new Node(leader.nodeId(), leader.host(), leader.port()));
    }
}
