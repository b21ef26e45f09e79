package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import java.util.Optional;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.log.TimestampOffset;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.ListOffsetsResponseData.ListOffsetsPartitionResponse;
import org.apache.kafka.common.message.ListOffsetsResponseData.ListOffsetsTopicResponse;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ListOffsetsRequest;

/**
 * ListOffsets: earliest, latest (the high watermark, which is also the last stable offset without
 * transactions), max timestamp, and by timestamp through the time index. Never answers an offset at
 * or above the high watermark for a timestamp lookup.
 */
public final class ListOffsetsHandler implements ApiHandler<ListOffsetsRequestData> {

    private final TopicManager topics;
    private final PartitionManager partitions;

    public ListOffsetsHandler(TopicManager topics, PartitionManager partitions) {
        this.topics = topics;
        this.partitions = partitions;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.LIST_OFFSETS;
    }

    @Override
    public Future<ListOffsetsResponseData> handle(RequestContext ctx, ListOffsetsRequestData request) {
        if (searchesByTimestamp(request)) {
            // a search reads time indexes and batch headers of old segments and may reopen a segment file that
            // the bound on open files closed: that waits on the disk, so it runs on a worker, never the event loop
            return ctx.context().executeBlocking(() -> answerAll(ctx, request), false);
        }
        return Future.succeededFuture(answerAll(ctx, request));
    }

    /** Whether a partition asks for an offset by timestamp (or the max timestamp), not by earliest or latest. */
    private static boolean searchesByTimestamp(ListOffsetsRequestData request) {
        for (ListOffsetsRequestData.ListOffsetsTopic rt : request.topics()) {
            for (ListOffsetsRequestData.ListOffsetsPartition rp : rt.partitions()) {
                if (rp.timestamp() >= 0 || rp.timestamp() == ListOffsetsRequest.MAX_TIMESTAMP) {
                    return true;
                }
            }
        }
        return false;
    }

    private ListOffsetsResponseData answerAll(RequestContext ctx, ListOffsetsRequestData request) {
        ListOffsetsResponseData resp = new ListOffsetsResponseData();
        for (ListOffsetsRequestData.ListOffsetsTopic rt : request.topics()) {
            ListOffsetsTopicResponse tr = new ListOffsetsTopicResponse().setName(rt.name());
            resp.topics().add(tr);
            TopicInfo topic = topics.topic(rt.name());
            boolean allowed = ctx.authorized(AclOperation.DESCRIBE, ResourceType.TOPIC, rt.name());
            for (ListOffsetsRequestData.ListOffsetsPartition rp : rt.partitions()) {
                ListOffsetsPartitionResponse pr = allowed ? answer(topic, rt.name(), rp, request.replicaId(),
                        request.isolationLevel())
                        : new ListOffsetsPartitionResponse().setPartitionIndex(rp.partitionIndex()).setTimestamp(-1)
                                .setOffset(-1).setLeaderEpoch(-1).setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
                if (ctx.apiVersion() < 4) {
                    // leader epochs are only part of v4 and up
                    pr.setLeaderEpoch(-1);
                }
                tr.partitions().add(pr);
            }
        }
        return resp;
    }

    private ListOffsetsPartitionResponse answer(TopicInfo topic, String name, ListOffsetsRequestData.ListOffsetsPartition rp,
                                                int replicaId, byte isolationLevel) {
        ListOffsetsPartitionResponse pr = new ListOffsetsPartitionResponse().setPartitionIndex(rp.partitionIndex())
                .setTimestamp(-1).setOffset(-1).setLeaderEpoch(-1);
        PartitionOwner owner = topic == null ? null : partitions.get(new TopicPartition(name, rp.partitionIndex()));
        if (owner == null) {
            boolean exists = topic != null && rp.partitionIndex() >= 0 && rp.partitionIndex() < topic.partitions();
            return pr.setErrorCode((exists ? partitions.notHostedError(new TopicPartition(name, rp.partitionIndex()))
                    : Errors.UNKNOWN_TOPIC_OR_PARTITION).code());
        }
        if (rp.currentLeaderEpoch() >= 0 && rp.currentLeaderEpoch() < owner.leaderEpoch()) {
            return pr.setErrorCode(Errors.FENCED_LEADER_EPOCH.code());
        }
        if (rp.currentLeaderEpoch() > owner.leaderEpoch()) {
            return pr.setErrorCode(Errors.UNKNOWN_LEADER_EPOCH.code());
        }
        if (!owner.isLeader() && replicaId != ListOffsetsRequest.DEBUGGING_REPLICA_ID) {
            return pr.setErrorCode(Errors.NOT_LEADER_OR_FOLLOWER.code());
        }
        long highWatermark = owner.highWatermark();
        // a new leader whose high watermark has not reached its epoch's start cannot tell the end yet
        boolean hwLagging = replicaId == ListOffsetsRequest.CONSUMER_REPLICA_ID
                && owner.leaderEpochStartOffset() > highWatermark;
        // as Kafka's lastFetchableOffset: read_committed consumers see up to the last stable offset
        long hw = isolationLevel == 1 ? owner.lastStableOffset() : highWatermark;
        long ts = rp.timestamp();
        try {
            if (ts == ListOffsetsRequest.EARLIEST_TIMESTAMP || ts == ListOffsetsRequest.EARLIEST_LOCAL_TIMESTAMP) {
                // an empty epoch cache means nothing was written under an older epoch: the current one holds
                Optional<TimestampOffset> earliest = owner.log().offsetForTimestamp(ListOffsetsRequest.EARLIEST_TIMESTAMP);
                int epoch = earliest.map(TimestampOffset::leaderEpoch).orElse(-1);
                return pr.setOffset(owner.log().logStartOffset()).setLeaderEpoch(epoch < 0 ? owner.leaderEpoch() : epoch);
            }
            if (ts == ListOffsetsRequest.LATEST_TIMESTAMP) {
                if (hwLagging) {
                    return pr.setErrorCode(Errors.OFFSET_NOT_AVAILABLE.code());
                }
                int epoch = owner.log().latestEpoch();
                return pr.setOffset(hw).setLeaderEpoch(epoch < 0 ? owner.leaderEpoch() : epoch);
            }
            if (ts == ListOffsetsRequest.LATEST_TIERED_TIMESTAMP || ts == ListOffsetsRequest.EARLIEST_PENDING_UPLOAD_TIMESTAMP) {
                // no tiered storage: nothing is tiered or pending upload
                return pr;
            }
            if (ts < 0 && ts != ListOffsetsRequest.MAX_TIMESTAMP) {
                return pr.setErrorCode(Errors.INVALID_REQUEST.code());
            }
            Optional<TimestampOffset> found = owner.log().offsetForTimestamp(ts);
            if (found.isPresent() && found.get().offset() < hw) {
                TimestampOffset t = found.get();
                return pr.setTimestamp(t.timestamp()).setOffset(t.offset()).setLeaderEpoch(t.leaderEpoch());
            }
            return hwLagging ? pr.setErrorCode(Errors.OFFSET_NOT_AVAILABLE.code()) : pr;
        } catch (RuntimeException e) {
            return pr.setErrorCode(Errors.forException(e).code());
        }
    }
}
