package io.runnel.cluster;

import java.nio.file.Path;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;

/**
 * Persistence of the partition states a broker has seen ({@code __runnel_meta/partitions.json}): a state
 * replaces another only with a higher leader epoch, or the same leader epoch and a higher partition epoch.
 */
public final class PartitionStateStore {

    public static final VersionedStore.Codec<TopicPartition, PartitionState> CODEC = new VersionedStore.Codec<>(
            tp -> tp.topic() + "/" + tp.partition(),
            PartitionStateStore::parseKey,
            s -> new JsonObject().put("leader", s.leader()).put("leaderEpoch", s.leaderEpoch())
                    .put("replicas", new JsonArray(s.replicas())).put("isr", new JsonArray(s.isr()))
                    .put("partitionEpoch", s.partitionEpoch()),
            j -> new PartitionState(j.getInteger("leader"), j.getInteger("leaderEpoch"),
                    VersionedStore.ints(j.getJsonArray("replicas")), VersionedStore.ints(j.getJsonArray("isr")),
                    j.getInteger("partitionEpoch")),
            PartitionStateStore::newer);

    private PartitionStateStore() {
    }

    public static VersionedStore<TopicPartition, PartitionState> open(Path metaDir) {
        return new VersionedStore<>(metaDir.resolve("partitions.json"), CODEC);
    }

    /** Whether {@code candidate} is newer than {@code current}. */
    public static boolean newer(PartitionState candidate, PartitionState current) {
        if (candidate.leaderEpoch() != current.leaderEpoch()) {
            return candidate.leaderEpoch() > current.leaderEpoch();
        }
        return candidate.partitionEpoch() > current.partitionEpoch();
    }

    static TopicPartition parseKey(String key) {
        int slash = key.lastIndexOf('/');
        return new TopicPartition(key.substring(0, slash), Integer.parseInt(key.substring(slash + 1)));
    }
}
