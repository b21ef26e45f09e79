package io.runnel.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.runnel.group.GroupCoordinator;
import io.runnel.log.AppendOrigin;
import io.runnel.log.RecordSet;
import io.runnel.metadata.OffsetsTopic;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData.WritableTxnMarkerPartitionResult;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData.WritableTxnMarkerResult;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData.WritableTxnMarkerTopicResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WriteTxnMarkers (v1-v2), sent by a transaction coordinator to the leaders of a transaction's partitions:
 * each partition gets a control batch with one COMMIT or ABORT record carrying the coordinator epoch, appended
 * by its leader as a coordinator's write (producer epoch checked by the marker's transaction version: above the
 * producer's under version 2, not below it under 0-1; coordinator epoch not below the last; INVALID_PRODUCER_EPOCH
 * and TRANSACTION_COORDINATOR_FENCED otherwise) with acks=all and {@code request.timeout.ms}, as Kafka appends
 * them. The answer comes once every partition's marker is replicated or failed, with Kafka's error per
 * partition (UNKNOWN_TOPIC_OR_PARTITION for a partition not hosted here, NOT_LEADER_OR_FOLLOWER on a
 * follower). A marker written to a {@code __consumer_offsets} partition then tells the group coordinator,
 * which makes the transaction's offsets visible or drops them; if that fails the partition answers
 * UNKNOWN_SERVER_ERROR, as Kafka's. Needs ALTER or CLUSTER_ACTION on the cluster.
 */
public final class WriteTxnMarkersHandler implements ApiHandler<WriteTxnMarkersRequestData> {

    private static final Logger LOG = LoggerFactory.getLogger(WriteTxnMarkersHandler.class);

    /** Kafka's request.timeout.ms default, which bounds its marker appends. */
    public static final long DEFAULT_REQUEST_TIMEOUT_MS = 30_000L;

    /** What a marker written to an offsets partition is handed to: the group coordinator's hook. */
    @FunctionalInterface
    public interface OffsetsTransactionHook {
        Future<Void> onTransactionCompleted(int partition, long producerId, boolean committed, long markerOffset);
    }

    private final PartitionManager partitions;
    private final OffsetsTransactionHook groups;
    private final long requestTimeoutMs;

    public WriteTxnMarkersHandler(PartitionManager partitions, GroupCoordinator groups) {
        this(partitions, groups::onTransactionCompleted, DEFAULT_REQUEST_TIMEOUT_MS);
    }

    public WriteTxnMarkersHandler(PartitionManager partitions, OffsetsTransactionHook groups, long requestTimeoutMs) {
        this.partitions = partitions;
        this.groups = groups;
        this.requestTimeoutMs = requestTimeoutMs;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.WRITE_TXN_MARKERS;
    }

    @Override
    public Future<WriteTxnMarkersResponseData> handle(RequestContext ctx, WriteTxnMarkersRequestData request) {
        if (!ctx.clusterAuthorized(AclOperation.ALTER) && !ctx.clusterAuthorized(AclOperation.CLUSTER_ACTION)) {
            return Future.failedFuture(new ClusterAuthorizationException(
                    "WriteTxnMarkers needs ALTER or CLUSTER_ACTION on the cluster"));
        }
        // one result per producer id, as Kafka keys its answer; partitions in request order
        Map<Long, Map<String, List<Future<WritableTxnMarkerPartitionResult>>>> byProducer = new LinkedHashMap<>();
        List<Future<WritableTxnMarkerPartitionResult>> all = new ArrayList<>();
        for (WriteTxnMarkersRequestData.WritableTxnMarker marker : request.markers()) {
            Map<String, List<Future<WritableTxnMarkerPartitionResult>>> topics =
                    byProducer.computeIfAbsent(marker.producerId(), k -> new LinkedHashMap<>());
            for (WriteTxnMarkersRequestData.WritableTxnMarkerTopic t : marker.topics()) {
                List<Future<WritableTxnMarkerPartitionResult>> results =
                        topics.computeIfAbsent(t.name(), k -> new ArrayList<>());
                for (int partition : t.partitionIndexes()) {
                    Future<WritableTxnMarkerPartitionResult> f = write(marker, new TopicPartition(t.name(), partition));
                    results.add(f);
                    all.add(f);
                }
            }
        }
        return Future.join(all).transform(ar -> {
            WriteTxnMarkersResponseData resp = new WriteTxnMarkersResponseData();
            byProducer.forEach((pid, topics) -> {
                WritableTxnMarkerResult mr = new WritableTxnMarkerResult().setProducerId(pid);
                topics.forEach((name, results) -> {
                    WritableTxnMarkerTopicResult tr = new WritableTxnMarkerTopicResult().setName(name);
                    results.forEach(r -> tr.partitions().add(r.result()));
                    mr.topics().add(tr);
                });
                resp.markers().add(mr);
            });
            return Future.succeededFuture(resp);
        });
    }

    private Future<WritableTxnMarkerPartitionResult> write(WriteTxnMarkersRequestData.WritableTxnMarker marker,
                                                           TopicPartition tp) {
        WritableTxnMarkerPartitionResult result = new WritableTxnMarkerPartitionResult().setPartitionIndex(tp.partition());
        PartitionOwner owner = partitions.get(tp);
        if (owner == null) {
            return Future.succeededFuture(result.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code()));
        }
        boolean commit = marker.transactionResult();
        // a buffer per partition: the append assigns offsets in place
        RecordSet records = RecordSet.endTransactionMarker(0L, System.currentTimeMillis(), -1, marker.producerId(),
                marker.producerEpoch(), commit, marker.coordinatorEpoch());
        // v2 carries the transaction version (KIP-1228; v1: 0), which says how the marker's epoch is checked
        return owner.append(records, (short) -1, requestTimeoutMs, AppendOrigin.COORDINATOR,
                        marker.transactionVersion())
                .compose(appended -> {
                    if (!OffsetsTopic.NAME.equals(tp.topic())) {
                        return Future.succeededFuture(Errors.NONE);
                    }
                    return groups.onTransactionCompleted(tp.partition(), marker.producerId(), commit,
                                    appended.firstOffset())
                            .map(v -> Errors.NONE)
                            .otherwise(t -> {
                                LOG.error("Completing the transactional offsets of producer {} on {} failed",
                                        marker.producerId(), tp, t);
                                return Errors.UNKNOWN_SERVER_ERROR;
                            });
                }, t -> {
                    Errors e = Errors.forException(t);
                    if (e == Errors.UNKNOWN_SERVER_ERROR) {
                        LOG.error("Writing the {} marker of producer {} to {} failed", commit ? "COMMIT" : "ABORT",
                                marker.producerId(), tp, t);
                    }
                    return Future.succeededFuture(e);
                })
                .map(e -> result.setErrorCode(e.code()));
    }
}
