package io.runnel.api;

import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.acl.AclOperation;
import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.log.TimestampOffset;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData.EpochEndOffset;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * OffsetForLeaderEpoch (v2-v4): the end offset of a leader epoch per the leader's epoch cache, for
 * consumers validating their position after a leader change (KIP-320) and for followers that truncate
 * by epoch (KIP-101/279). Answered by the leader only, after Kafka's current-leader-epoch fencing; an
 * epoch the cache cannot place gets (-1, -1).
 */
public final class OffsetForLeaderEpochHandler implements ApiHandler<OffsetForLeaderEpochRequestData> {

    private final TopicManager topics;
    private final PartitionManager partitions;

    public OffsetForLeaderEpochHandler(TopicManager topics, PartitionManager partitions) {
        this.topics = topics;
        this.partitions = partitions;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.OFFSET_FOR_LEADER_EPOCH;
    }

    @Override
    public Future<OffsetForLeaderEpochResponseData> handle(RequestContext ctx, OffsetForLeaderEpochRequestData request) {
        OffsetForLeaderEpochResponseData resp = new OffsetForLeaderEpochResponseData();
        for (OffsetForLeaderEpochRequestData.OffsetForLeaderTopic rt : request.topics()) {
            OffsetForLeaderTopicResult tr = new OffsetForLeaderTopicResult().setTopic(rt.topic());
            resp.topics().add(tr);
            TopicInfo topic = topics.topic(rt.topic());
            // as Kafka: a follower needs CLUSTER_ACTION on the cluster, a consumer DESCRIBE on the topic
            boolean allowed = request.replicaId() >= 0 ? ctx.clusterAuthorized(AclOperation.CLUSTER_ACTION)
                    : ctx.authorized(AclOperation.DESCRIBE, ResourceType.TOPIC, rt.topic());
            for (OffsetForLeaderEpochRequestData.OffsetForLeaderPartition rp : rt.partitions()) {
                tr.partitions().add(allowed ? answer(topic, rp) : new EpochEndOffset().setPartition(rp.partition())
                        .setLeaderEpoch(-1).setEndOffset(-1).setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code()));
            }
        }
        return Future.succeededFuture(resp);
    }

    private EpochEndOffset answer(TopicInfo topic, OffsetForLeaderEpochRequestData.OffsetForLeaderPartition rp) {
        EpochEndOffset out = new EpochEndOffset().setPartition(rp.partition()).setLeaderEpoch(-1).setEndOffset(-1);
        PartitionOwner owner = topic == null ? null : partitions.get(new TopicPartition(topic.name(), rp.partition()));
        if (owner == null) {
            boolean exists = topic != null && rp.partition() >= 0 && rp.partition() < topic.partitions();
            return out.setErrorCode((exists ? partitions.notHostedError(new TopicPartition(topic.name(), rp.partition()))
                    : Errors.UNKNOWN_TOPIC_OR_PARTITION).code());
        }
        if (rp.currentLeaderEpoch() >= 0 && rp.currentLeaderEpoch() < owner.leaderEpoch()) {
            return out.setErrorCode(Errors.FENCED_LEADER_EPOCH.code());
        }
        if (rp.currentLeaderEpoch() > owner.leaderEpoch()) {
            return out.setErrorCode(Errors.UNKNOWN_LEADER_EPOCH.code());
        }
        if (!owner.isLeader()) {
            return out.setErrorCode(Errors.NOT_LEADER_OR_FOLLOWER.code());
        }
        try {
            TimestampOffset end = owner.log().endOffsetForEpoch(rp.leaderEpoch());
            return out.setErrorCode(Errors.NONE.code()).setLeaderEpoch(end.leaderEpoch()).setEndOffset(end.offset());
        } catch (RuntimeException e) {
            return out.setErrorCode(Errors.forException(e).code());
        }
    }
}
