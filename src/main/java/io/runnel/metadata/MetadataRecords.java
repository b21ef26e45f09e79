package io.runnel.metadata;

import java.util.List;
import java.util.Map;

import io.runnel.cluster.PartitionState;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;

/**
 * The records of the metadata log, one JSON object each with a {@code type}. Every record is applied by
 * every node in log order with the same result ({@link MetadataImage#apply}): a record carries whatever
 * its proposer chose at random (topic ids, the replica placement's start), and its preconditions (a topic
 * that must not exist, the partition epoch an ISR change was computed from) are checked at apply time, so
 * a stale proposal is refused by the log itself rather than by whoever proposed it.
 */
public final class MetadataRecords {

    static final String REGISTER_BROKER = "RegisterBroker";
    static final String UNFENCE_BROKER = "UnfenceBroker";
    static final String FENCE_BROKER = "FenceBroker";
    static final String CREATE_TOPIC = "CreateTopic";
    static final String CREATE_PARTITIONS = "CreatePartitions";
    static final String DELETE_TOPIC = "DeleteTopic";
    static final String ALTER_CONFIGS = "AlterConfigs";
    static final String ALTER_BROKER_CONFIGS = "AlterBrokerConfigs";
    static final String ALTER_PARTITION = "AlterPartition";
    static final String ALLOCATE_PRODUCER_IDS = "AllocateProducerIds";
    static final String LOG_DIR_OFFLINE = "LogDirOffline";

    private MetadataRecords() {
    }

    public static JsonObject registerBroker(int nodeId, Uuid incarnation, String host, int port) {
        return registerBroker(nodeId, incarnation, host, port, Map.of());
    }

    /** @param listeners every listener's advertised host:port by listener name (host/port: the inter-broker one) */
    public static JsonObject registerBroker(int nodeId, Uuid incarnation, String host, int port,
                                            Map<String, String> listeners) {
        JsonObject r = new JsonObject().put("type", REGISTER_BROKER).put("node", nodeId)
                .put("incarnation", incarnation.toString()).put("host", host).put("port", port);
        if (!listeners.isEmpty()) {
            r.put("listeners", new JsonObject(new java.util.TreeMap<>(listeners)));
        }
        return r;
    }

    public static JsonObject unfenceBroker(int nodeId, Uuid incarnation) {
        return new JsonObject().put("type", UNFENCE_BROKER).put("node", nodeId).put("incarnation", incarnation.toString());
    }

    /**
     * Fences a broker (the controller saw it leave, or it shuts down): it leaves every ISR in which it is not
     * the last member, and the partitions it led elect another in-sync replica.
     */
    public static JsonObject fenceBroker(int nodeId, Uuid incarnation) {
        return new JsonObject().put("type", FENCE_BROKER).put("node", nodeId).put("incarnation", incarnation.toString());
    }

    /** {@code startIndex} and {@code replicaShift} are the random choices of Kafka's replica placement. */
    public static JsonObject createTopic(String name, Uuid id, int partitions, short replicationFactor,
                                         Map<String, String> configs, int startIndex, int replicaShift) {
        return new JsonObject().put("type", CREATE_TOPIC).put("name", name).put("id", id.toString())
                .put("partitions", partitions).put("replicationFactor", (int) replicationFactor)
                .put("configs", strings(configs))
                .put("start", startIndex).put("shift", replicaShift);
    }

    /** A topic that a single node held before the metadata log existed, with its id, all on {@code node}. */
    public static JsonObject importTopic(String name, Uuid id, int partitions, Map<String, String> configs, int node) {
        return createTopic(name, id, partitions, (short) 1, configs, 0, 0).put("importedBy", node);
    }

    public static JsonObject createPartitions(String name, int total, int startIndex, int replicaShift) {
        return new JsonObject().put("type", CREATE_PARTITIONS).put("name", name).put("partitions", total)
                .put("start", startIndex).put("shift", replicaShift);
    }

    public static JsonObject deleteTopic(String name) {
        return new JsonObject().put("type", DELETE_TOPIC).put("name", name);
    }

    /** Replaces a topic's overrides with {@code configs} if they still are {@code expected}. */
    public static JsonObject alterConfigs(String name, Map<String, String> expected, Map<String, String> configs) {
        return new JsonObject().put("type", ALTER_CONFIGS).put("name", name).put("expected", strings(expected))
                .put("configs", strings(configs));
    }

    /**
     * Replaces the dynamic configs of a BROKER resource ({@code ""} for the cluster default, else a node id;
     * Kafka's ConfigRecord) with {@code configs} if they still are {@code expected}. Empty configs remove it.
     */
    public static JsonObject alterBrokerConfigs(String resource, Map<String, String> expected,
                                                Map<String, String> configs) {
        return new JsonObject().put("type", ALTER_BROKER_CONFIGS).put("resource", resource)
                .put("expected", strings(expected)).put("configs", strings(configs));
    }

    /** A leader's ISR change, applied only over the state it was computed from (Kafka's AlterPartition). */
    public static JsonObject alterPartition(Uuid topicId, TopicPartition tp, PartitionState expected, List<Integer> isr) {
        return new JsonObject().put("type", ALTER_PARTITION).put("topicId", topicId.toString()).put("topic", tp.topic())
                .put("partition", tp.partition()).put("leader", expected.leader())
                .put("leaderEpoch", expected.leaderEpoch()).put("partitionEpoch", expected.partitionEpoch())
                .put("isr", new JsonArray(List.copyOf(isr)));
    }

    /**
     * A broker process took log directory {@code dir} offline after an I/O error, with the replicas it held
     * there (KIP-858's offline directory in a broker heartbeat): the controller moves their leadership and
     * ISR membership elsewhere and elects none of them until that process is replaced.
     */
    public static JsonObject logDirOffline(int nodeId, Uuid incarnation, String dir, Map<Uuid, List<Integer>> replicas) {
        JsonArray rs = new JsonArray();
        replicas.forEach((topicId, partitions) -> partitions.forEach(p -> rs.add(new JsonObject()
                .put("topicId", topicId.toString()).put("partition", p))));
        return new JsonObject().put("type", LOG_DIR_OFFLINE).put("node", nodeId).put("incarnation", incarnation.toString())
                .put("dir", dir).put("replicas", rs);
    }

    public static JsonObject allocateProducerIds(int nodeId, int count) {
        return new JsonObject().put("type", ALLOCATE_PRODUCER_IDS).put("node", nodeId).put("count", count);
    }

    static JsonObject strings(Map<String, String> m) {
        JsonObject j = new JsonObject();
        m.forEach(j::put);
        return j;
    }

    static Map<String, String> strings(JsonObject j) {
        Map<String, String> m = new java.util.HashMap<>();
        if (j != null) {
            j.forEach(e -> m.put(e.getKey(), String.valueOf(e.getValue())));
        }
        return m;
    }
}
