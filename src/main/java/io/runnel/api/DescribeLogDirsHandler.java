package io.runnel.api;

import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.acl.AclOperation;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.DescribeLogDirsRequestData;
import org.apache.kafka.common.message.DescribeLogDirsResponseData;
import org.apache.kafka.common.message.DescribeLogDirsResponseData.DescribeLogDirsPartition;
import org.apache.kafka.common.message.DescribeLogDirsResponseData.DescribeLogDirsResult;
import org.apache.kafka.common.message.DescribeLogDirsResponseData.DescribeLogDirsTopic;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * DescribeLogDirs as Kafka's broker answers it (ReplicaManager.describeLogDirs): every log directory of
 * this broker with the hosted partitions in it (all of them, or those the request names) and their sizes,
 * plus the volume's total and usable bytes. A directory taken offline by an I/O error answers
 * KAFKA_STORAGE_ERROR with no partitions and unknown (-1) volume sizes, which is how an operator sees it
 * with {@code kafka-log-dirs.sh --describe} or {@code Admin.describeLogDirs}. The offset lag is Kafka's
 * for a current (non-future) log: how far the high watermark is past the log end, never below zero.
 *
 * <p>Threading: the volume sizes (a statfs each) are read on a worker; the answer completes on the caller's
 * context.
 */
public final class DescribeLogDirsHandler implements ApiHandler<DescribeLogDirsRequestData> {

    /** Kafka's DescribeLogDirsResponse.UNKNOWN_VOLUME_BYTES. */
    static final long UNKNOWN_VOLUME_BYTES = -1L;

    private final Vertx vertx;
    private final PartitionManager partitions;

    public DescribeLogDirsHandler(Vertx vertx, PartitionManager partitions) {
        this.vertx = vertx;
        this.partitions = partitions;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_LOG_DIRS;
    }

    @Override
    public Future<DescribeLogDirsResponseData> handle(RequestContext ctx, DescribeLogDirsRequestData request) {
        if (!ctx.clusterAuthorized(AclOperation.DESCRIBE)) {
            // as Kafka: DESCRIBE on the cluster, else a top-level CLUSTER_AUTHORIZATION_FAILED and no directories
            return Future.succeededFuture(new DescribeLogDirsResponseData()
                    .setErrorCode(org.apache.kafka.common.protocol.Errors.CLUSTER_AUTHORIZATION_FAILED.code()));
        }
        Map<String, Set<Integer>> wanted = null;
        if (request.topics() != null) {
            wanted = new java.util.HashMap<>();
            for (DescribeLogDirsRequestData.DescribableLogDirTopic t : request.topics()) {
                wanted.computeIfAbsent(t.topic(), k -> new java.util.HashSet<>()).addAll(t.partitions());
            }
        }
        Map<String, Set<Integer>> filter = wanted;
        List<Path> dirs = partitions.logDirs();
        return vertx.executeBlocking(() -> {
            DescribeLogDirsResponseData response = new DescribeLogDirsResponseData().setErrorCode(Errors.NONE.code());
            for (Path dir : dirs) {
                response.results().add(describe(dir, filter));
            }
            return response;
        }, false);
    }

    private DescribeLogDirsResult describe(Path dir, Map<String, Set<Integer>> filter) {
        DescribeLogDirsResult result = new DescribeLogDirsResult().setLogDir(dir.toString());
        if (partitions.failureChannel().isOffline(dir)) {
            return result.setErrorCode(Errors.KAFKA_STORAGE_ERROR.code())
                    .setTotalBytes(UNKNOWN_VOLUME_BYTES).setUsableBytes(UNKNOWN_VOLUME_BYTES);
        }
        long total = UNKNOWN_VOLUME_BYTES;
        long usable = UNKNOWN_VOLUME_BYTES;
        try {
            FileStore store = Files.getFileStore(dir);
            total = store.getTotalSpace();
            usable = store.getUsableSpace();
        } catch (IOException e) {
            // sizes unknown; the directory itself is judged by its logs' I/O, as in Kafka
        }
        Map<String, List<DescribeLogDirsPartition>> byTopic = new TreeMap<>();
        for (PartitionOwner o : partitions.all()) {
            TopicPartition tp = o.topicPartition();
            if (o.isClosed() || !o.log().dir().getParent().equals(dir)
                    || filter != null && !filter.getOrDefault(tp.topic(), Set.of()).contains(tp.partition())) {
                continue;
            }
            long lag = Math.max(o.highWatermark() - o.log().logEndOffset(), 0);
            byTopic.computeIfAbsent(tp.topic(), k -> new ArrayList<>()).add(new DescribeLogDirsPartition()
                    .setPartitionIndex(tp.partition()).setPartitionSize(o.log().sizeInBytes()).setOffsetLag(lag)
                    .setIsFutureKey(false));
        }
        Map<String, List<DescribeLogDirsPartition>> ordered = new LinkedHashMap<>(byTopic);
        ordered.forEach((topic, ps) -> {
            ps.sort(java.util.Comparator.comparingInt(DescribeLogDirsPartition::partitionIndex));
            result.topics().add(new DescribeLogDirsTopic().setName(topic).setPartitions(ps));
        });
        return result.setErrorCode(Errors.NONE.code()).setTotalBytes(total).setUsableBytes(usable);
    }
}
