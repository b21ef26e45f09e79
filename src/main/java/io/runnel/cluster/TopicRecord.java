package io.runnel.cluster;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.Uuid;

/**
 * A topic as the cluster knows it, keyed by its id. Every change bumps {@code version}; deletion leaves a
 * tombstone ({@code deleted}) that outranks any live version of the same id, so a broker that was down
 * while the topic was deleted cannot bring it back after a full-cluster restart.
 */
public record TopicRecord(Uuid id, String name, int partitions, short replicationFactor, Map<String, String> configs,
                          int version, boolean deleted) {

    public TopicRecord {
        configs = Map.copyOf(configs);
    }

    public static final VersionedStore.Codec<Uuid, TopicRecord> CODEC = new VersionedStore.Codec<>(
            Uuid::toString,
            Uuid::fromString,
            t -> {
                JsonObject configs = new JsonObject();
                t.configs().forEach(configs::put);
                return new JsonObject().put("name", t.name()).put("partitions", t.partitions())
                        .put("replicationFactor", (int) t.replicationFactor()).put("configs", configs)
                        .put("version", t.version()).put("deleted", t.deleted());
            },
            j -> {
                Map<String, String> configs = new HashMap<>();
                j.getJsonObject("configs").forEach(e -> configs.put(e.getKey(), (String) e.getValue()));
                return new TopicRecord(Uuid.fromString(j.getString("key")), j.getString("name"),
                        j.getInteger("partitions"), j.getInteger("replicationFactor").shortValue(), configs,
                        j.getInteger("version"), j.getBoolean("deleted"));
            },
            TopicRecord::newer);

    public static VersionedStore<Uuid, TopicRecord> open(Path metaDir) {
        return new VersionedStore<>(metaDir.resolve("cluster-topics.json"), CODEC);
    }

    public static boolean newer(TopicRecord candidate, TopicRecord current) {
        if (candidate.deleted() != current.deleted()) {
            return candidate.deleted();
        }
        return candidate.version() > current.version();
    }

    public TopicInfo info() {
        return new TopicInfo(name, id, partitions, replicationFactor, configs);
    }

    public TopicRecord withPartitions(int n) {
        return new TopicRecord(id, name, n, replicationFactor, configs, version + 1, false);
    }

    public TopicRecord withConfigs(Map<String, String> c) {
        return new TopicRecord(id, name, partitions, replicationFactor, c, version + 1, false);
    }

    public TopicRecord tombstone() {
        return new TopicRecord(id, name, partitions, replicationFactor, Map.of(), version + 1, true);
    }
}
