package io.runnel.api;

import java.util.ArrayList;
import java.util.List;

import io.runnel.cluster.TopicInfo;
import io.runnel.log.PartitionLog;
import io.runnel.metadata.TopicManager;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.DescribeProducersRequestData;
import org.apache.kafka.common.message.DescribeProducersResponseData;
import org.apache.kafka.common.message.DescribeProducersResponseData.PartitionResponse;
import org.apache.kafka.common.message.DescribeProducersResponseData.ProducerState;
import org.apache.kafka.common.message.DescribeProducersResponseData.TopicResponse;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * DescribeProducers (v0): the producer state a partition's leader holds (epoch, last sequence and timestamp,
 * coordinator epoch, and the start offset of the open transaction), which {@code kafka-transactions.sh
 * find-hanging} and {@code describe-producers} read. READ on the topic, as Kafka checks it; answered by the
 * leader only (NOT_LEADER_OR_FOLLOWER elsewhere).
 */
public final class DescribeProducersHandler implements ApiHandler<DescribeProducersRequestData> {

    private final TopicManager topics;
    private final PartitionManager partitions;

    public DescribeProducersHandler(TopicManager topics, PartitionManager partitions) {
        this.topics = topics;
        this.partitions = partitions;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_PRODUCERS;
    }

    @Override
    public Future<DescribeProducersResponseData> handle(RequestContext ctx, DescribeProducersRequestData request) {
        DescribeProducersResponseData resp = new DescribeProducersResponseData();
        List<Future<?>> pending = new ArrayList<>();
        for (DescribeProducersRequestData.TopicRequest t : request.topics()) {
            TopicResponse tr = new TopicResponse().setName(t.name());
            resp.topics().add(tr);
            boolean allowed = ctx.authorized(AclOperation.READ, ResourceType.TOPIC, t.name());
            TopicInfo topic = allowed ? topics.topic(t.name()) : null;
            for (int index : t.partitionIndexes()) {
                PartitionResponse pr = new PartitionResponse().setPartitionIndex(index);
                tr.partitions().add(pr);
                if (!allowed) {
                    pr.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
                    continue;
                }
                TopicPartition tp = new TopicPartition(t.name(), index);
                PartitionOwner owner = topic == null ? null : partitions.get(tp);
                if (owner == null) {
                    boolean exists = topic != null && index >= 0 && index < topic.partitions();
                    pr.setErrorCode((exists ? partitions.notHostedError(tp) : Errors.UNKNOWN_TOPIC_OR_PARTITION).code());
                    continue;
                }
                if (!owner.isLeader()) {
                    pr.setErrorCode(Errors.NOT_LEADER_OR_FOLLOWER.code());
                    continue;
                }
                pending.add(owner.activeProducers().map(list -> {
                    for (PartitionLog.ProducerStateView p : list) {
                        pr.activeProducers().add(new ProducerState().setProducerId(p.producerId())
                                .setProducerEpoch(p.producerEpoch()).setLastSequence(p.lastSequence())
                                .setLastTimestamp(p.lastTimestamp()).setCoordinatorEpoch(p.coordinatorEpoch())
                                .setCurrentTxnStartOffset(p.currentTxnStartOffset()));
                    }
                    return null;
                }).otherwise(failure -> {
                    pr.setErrorCode(Errors.forException(failure).code()).setErrorMessage(failure.getMessage());
                    return null;
                }));
            }
        }
        return Future.join(pending).transform(ar -> Future.succeededFuture(resp));
    }
}
