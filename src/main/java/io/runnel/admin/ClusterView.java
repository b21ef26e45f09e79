package io.runnel.admin;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Supplier;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.partition.PartitionManager;
import io.runnel.log.LogCleanerManager;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;

/**
 * JSON views of the cluster, its brokers, topics and partitions, built from the metadata image and the
 * hosted partitions. On one node this broker is the only one and the controller, and every partition's
 * only replica; a partition with no open log is shown offline (leader -1, empty ISR). Reads only
 * volatile state and in-memory maps: safe on an event loop.
 */
final class ClusterView {

    private final BrokerConfig config;
    private final TopicManager topics;
    private final PartitionManager partitions;
    private final Supplier<String> bootstrap;

    ClusterView(BrokerConfig config, TopicManager topics, PartitionManager partitions, Supplier<String> bootstrap) {
        this.config = config;
        this.topics = topics;
        this.partitions = partitions;
        this.bootstrap = bootstrap;
    }

    int controllerId() {
        return config.nodeId();
    }

    JsonArray brokers() {
        String b = bootstrap.get();
        int colon = b == null ? -1 : b.lastIndexOf(':');
        int led = 0;
        for (PartitionOwner o : partitions.all()) {
            if (!o.isClosed()) {
                led++;
            }
        }
        JsonObject self = new JsonObject().put("id", config.nodeId())
                .put("host", colon < 0 ? null : b.substring(0, colon))
                .put("port", colon < 0 ? null : Integer.parseInt(b.substring(colon + 1)))
                .put("rack", (String) null)
                .put("controller", config.nodeId() == controllerId())
                .put("partitionsLed", led)
                .put("logDirs", new JsonArray(partitions.logDirs().stream().map(Object::toString).toList()));
        return new JsonArray().add(self);
    }

    JsonObject cluster() {
        int partitionCount = 0;
        int offline = 0;
        int underReplicated = 0;
        for (TopicInfo t : topics.topics()) {
            for (int p = 0; p < t.partitions(); p++) {
                partitionCount++;
                PartitionOwner o = partitions.get(new TopicPartition(t.name(), p));
                if (o == null || o.isClosed()) {
                    offline++;
                } else if (o.isrSize() < t.replicationFactor()) {
                    underReplicated++;
                }
            }
        }
        return new JsonObject().put("clusterId", config.clusterId()).put("controllerId", controllerId())
                .put("brokers", brokers()).put("topicCount", topics.topics().size())
                .put("partitionCount", partitionCount).put("offlinePartitions", offline)
                .put("underReplicatedPartitions", underReplicated);
    }

    /** The topic or 404. */
    TopicInfo topic(String name) {
        TopicInfo t = topics.topic(name);
        if (t == null) {
            throw HttpError.notFound("unknown_topic", "Topic '" + name + "' does not exist.");
        }
        return t;
    }

    JsonArray topicList() {
        List<TopicInfo> all = new ArrayList<>(topics.topics());
        all.sort(Comparator.comparing(TopicInfo::name));
        JsonArray out = new JsonArray();
        for (TopicInfo t : all) {
            long size = 0;
            long records = 0;
            Double cleanable = null;
            for (int p = 0; p < t.partitions(); p++) {
                TopicPartition tp = new TopicPartition(t.name(), p);
                PartitionOwner o = partitions.get(tp);
                if (o != null) {
                    size += o.log().sizeInBytes();
                    records += Math.max(0, o.highWatermark() - o.log().logStartOffset());
                    LogCleanerManager.PartitionStats stats = partitions.cleaner().manager().stats(tp);
                    if (stats != null) {
                        cleanable = Math.max(cleanable == null ? 0.0 : cleanable, stats.dirtyRatio());
                    }
                }
            }
            JsonObject topic = new JsonObject().put("name", t.name()).put("id", t.id().toString())
                    .put("partitions", t.partitions()).put("replicationFactor", t.replicationFactor())
                    .put("sizeBytes", size).put("offsets", records)
                    .put("internal", org.apache.kafka.common.internals.Topic.isInternal(t.name()));
            if (cleanable != null) {
                topic.put("cleanableRatio", cleanable);
            }
            out.add(topic);
        }
        return out;
    }

    JsonObject topicDetail(TopicInfo t) {
        return new JsonObject().put("name", t.name()).put("id", t.id().toString())
                .put("partitionCount", t.partitions()).put("replicationFactor", t.replicationFactor())
                .put("internal", org.apache.kafka.common.internals.Topic.isInternal(t.name()))
                .put("configs", new JsonObject(new java.util.TreeMap<>(t.configs())))
                .put("partitions", partitions(t));
    }

    JsonArray partitions(TopicInfo t) {
        JsonArray out = new JsonArray();
        for (int p = 0; p < t.partitions(); p++) {
            out.add(partition(t, p));
        }
        return out;
    }

    JsonObject partition(TopicInfo t, int p) {
        PartitionOwner o = partitions.get(new TopicPartition(t.name(), p));
        int self = config.nodeId();
        JsonObject json = new JsonObject().put("partition", p).put("replicas", new JsonArray().add(self));
        if (o == null || o.isClosed()) {
            return json.put("leader", -1).put("isr", new JsonArray()).put("online", false);
        }
        json.put("leader", self).put("isr", new JsonArray().add(self)).put("online", true)
                .put("leaderEpoch", o.leaderEpoch())
                .put("logStartOffset", o.log().logStartOffset()).put("logEndOffset", o.log().logEndOffset())
                .put("highWatermark", o.highWatermark()).put("sizeBytes", o.log().sizeInBytes())
                .put("segments", o.log().numberOfSegments());
        LogCleanerManager.PartitionStats stats = partitions.cleaner().manager().stats(o.topicPartition());
        if (stats != null) {
            json.put("compaction", compaction(stats));
        }
        return json;
    }

    /** A compacted partition's cleaning state, as the admin API shows it. */
    static JsonObject compaction(LogCleanerManager.PartitionStats s) {
        return new JsonObject().put("cleanableRatio", s.dirtyRatio()).put("cleanableBytes", s.cleanableBytes())
                .put("firstDirtyOffset", s.firstDirtyOffset())
                .put("lastCleanedMs", s.lastCleanMs() < 0 ? null : s.lastCleanMs())
                .put("cleanings", s.runs()).put("uncleanable", s.uncleanable());
    }
}
