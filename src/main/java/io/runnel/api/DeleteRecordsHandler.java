package io.runnel.api;

import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.acl.AclOperation;
import java.util.ArrayList;
import java.util.List;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.config.TopicConfigs;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.DeleteRecordsRequestData;
import org.apache.kafka.common.message.DeleteRecordsRequestData.DeleteRecordsPartition;
import org.apache.kafka.common.message.DeleteRecordsRequestData.DeleteRecordsTopic;
import org.apache.kafka.common.message.DeleteRecordsResponseData;
import org.apache.kafka.common.message.DeleteRecordsResponseData.DeleteRecordsPartitionResult;
import org.apache.kafka.common.message.DeleteRecordsResponseData.DeleteRecordsTopicResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.DeleteRecordsRequest;
import org.apache.kafka.common.requests.DeleteRecordsResponse;

/**
 * DeleteRecords: moves each partition's log start offset up to the requested offset (-1 meaning the high
 * watermark) and answers the new low watermark, as Apache Kafka's leader does. Unknown topics and
 * partitions get UNKNOWN_TOPIC_OR_PARTITION, internal topics INVALID_TOPIC_EXCEPTION, partitions not
 * hosted here NOT_LEADER_OR_FOLLOWER, topics whose cleanup.policy lacks delete POLICY_VIOLATION, and
 * negative offsets or offsets above the high watermark OFFSET_OUT_OF_RANGE; failed partitions answer a low
 * watermark of -1. With a single replica there is nothing to wait for, so the timeout is ignored.
 *
 * <p>The high watermark is read here, off the owner's context: it only grows while the partition is
 * hosted (a single replica never truncates), so a check that passes here still holds when the owner
 * applies the deletion.
 */
public final class DeleteRecordsHandler implements ApiHandler<DeleteRecordsRequestData> {

    private final BrokerConfig config;
    private final TopicManager topics;
    private final PartitionManager partitions;

    public DeleteRecordsHandler(BrokerConfig config, TopicManager topics, PartitionManager partitions) {
        this.config = config;
        this.topics = topics;
        this.partitions = partitions;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DELETE_RECORDS;
    }

    @Override
    public Future<DeleteRecordsResponseData> handle(RequestContext ctx, DeleteRecordsRequestData request) {
        DeleteRecordsResponseData response = new DeleteRecordsResponseData();
        List<DeleteRecordsTopicResult> targets = new ArrayList<>();
        List<Future<DeleteRecordsPartitionResult>> pending = new ArrayList<>();
        for (DeleteRecordsTopic rt : request.topics()) {
            DeleteRecordsTopicResult tr = new DeleteRecordsTopicResult().setName(rt.name());
            response.topics().add(tr);
            TopicInfo topic = topics.topic(rt.name());
            boolean allowed = ctx.authorized(AclOperation.DELETE, ResourceType.TOPIC, rt.name());
            for (DeleteRecordsPartition rp : rt.partitions()) {
                targets.add(tr);
                pending.add(allowed ? delete(topic, rt.name(), rp)
                        : failed(rp.partitionIndex(), Errors.TOPIC_AUTHORIZATION_FAILED));
            }
        }
        // futures complete on the owners' contexts; the response is assembled once, in request order
        return Future.all(pending).map(all -> {
            for (int i = 0; i < pending.size(); i++) {
                targets.get(i).partitions().add(pending.get(i).result());
            }
            return response;
        });
    }

    /** Always succeeds: a failure becomes the partition's error result. */
    private Future<DeleteRecordsPartitionResult> delete(TopicInfo topic, String name, DeleteRecordsPartition rp) {
        int index = rp.partitionIndex();
        if (topic == null || index < 0 || index >= topic.partitions()) {
            return failed(index, Errors.UNKNOWN_TOPIC_OR_PARTITION);
        }
        if (Topic.isInternal(name)) {
            return failed(index, Errors.INVALID_TOPIC_EXCEPTION);
        }
        TopicPartition tp = new TopicPartition(name, index);
        PartitionOwner owner = partitions.get(tp);
        if (owner == null || owner.isClosed()) {
            return failed(index, partitions.notHostedError(tp));
        }
        List<?> cleanup = (List<?>) TopicConfigs.effective(topic.configs(), config).get(TopicConfig.CLEANUP_POLICY_CONFIG);
        if (!cleanup.contains(TopicConfig.CLEANUP_POLICY_DELETE)) {
            return failed(index, Errors.POLICY_VIOLATION);
        }
        long highWatermark = owner.highWatermark();
        long offset = rp.offset() == DeleteRecordsRequest.HIGH_WATERMARK ? highWatermark : rp.offset();
        if (offset < 0 || offset > highWatermark) {
            return failed(index, Errors.OFFSET_OUT_OF_RANGE);
        }
        return partitions.deleteRecordsBefore(owner, offset)
                .map(lowWatermark -> new DeleteRecordsPartitionResult().setPartitionIndex(index)
                        .setLowWatermark(lowWatermark).setErrorCode(Errors.NONE.code()))
                .otherwise(e -> new DeleteRecordsPartitionResult().setPartitionIndex(index)
                        .setLowWatermark(DeleteRecordsResponse.INVALID_LOW_WATERMARK)
                        .setErrorCode(AdminSupport.apiError(tp, e).error().code()));
    }

    private static Future<DeleteRecordsPartitionResult> failed(int index, Errors error) {
        return Future.succeededFuture(new DeleteRecordsPartitionResult().setPartitionIndex(index)
                .setLowWatermark(DeleteRecordsResponse.INVALID_LOW_WATERMARK).setErrorCode(error.code()));
    }
}
