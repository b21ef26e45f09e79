package io.runnel.api;

import java.util.Set;

import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.runnel.txn.TransactionCoordinator;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.AddOffsetsToTxnRequestData;
import org.apache.kafka.common.message.AddOffsetsToTxnResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * AddOffsetsToTxn, as Kafka answers it: WRITE on the transactional id and READ on the group, then the group's
 * {@code __consumer_offsets} partition joins the transaction (its TxnOffsetCommit goes there).
 */
public final class AddOffsetsToTxnHandler implements ApiHandler<AddOffsetsToTxnRequestData> {

    private final TransactionCoordinator coordinator;
    private final GroupCoordinator groups;

    public AddOffsetsToTxnHandler(TransactionCoordinator coordinator, GroupCoordinator groups) {
        this.coordinator = coordinator;
        this.groups = groups;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.ADD_OFFSETS_TO_TXN;
    }

    @Override
    public Future<AddOffsetsToTxnResponseData> handle(RequestContext ctx, AddOffsetsToTxnRequestData request) {
        AddOffsetsToTxnResponseData out = new AddOffsetsToTxnResponseData();
        if (!ctx.authorized(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId())) {
            return Future.succeededFuture(out.setErrorCode(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code()));
        }
        if (!ctx.authorized(AclOperation.READ, ResourceType.GROUP, request.groupId())) {
            return Future.succeededFuture(out.setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code()));
        }
        TopicPartition offsets = new TopicPartition(Topic.GROUP_METADATA_TOPIC_NAME,
                groups.partitionFor(request.groupId()));
        short version = ctx.apiVersion();
        return coordinator.addPartitions(request.transactionalId(), request.producerId(), request.producerEpoch(),
                Set.of(offsets), (short) 0).map(e -> out.setErrorCode(
                (version < 2 && e == Errors.PRODUCER_FENCED ? Errors.INVALID_PRODUCER_EPOCH : e).code()));
    }
}
