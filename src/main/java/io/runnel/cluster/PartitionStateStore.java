package io.runnel.cluster;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.KafkaStorageException;

/**
 * The partition states this broker has seen, persisted as {@code <first log dir>/__runnel_meta/partitions.json},
 * so that a full-cluster restart (when Hazelcast's memory is gone) rebuilds the cluster from disk and
 * epochs never go backwards. A state is only ever replaced by a newer one (higher leader epoch, or same
 * leader epoch and higher partition epoch).
 *
 * <p>Threading: reads from any thread; {@link #offer} and {@link #remove} write the file and are called
 * from the metadata worker context only.
 */
public final class PartitionStateStore {

    private final Path file;
    private final Map<TopicPartition, PartitionState> states = new ConcurrentHashMap<>();

    public PartitionStateStore(Path metaDir) {
        this.file = metaDir.resolve("partitions.json");
    }

    /** Whether {@code candidate} is newer than {@code current} (null counts as oldest). */
    public static boolean newer(PartitionState candidate, PartitionState current) {
        if (current == null) {
            return true;
        }
        if (candidate.leaderEpoch() != current.leaderEpoch()) {
            return candidate.leaderEpoch() > current.leaderEpoch();
        }
        return candidate.partitionEpoch() > current.partitionEpoch();
    }

    /** Per partition, the newest of the given images (what the controller rebuilds after a full restart). */
    public static Map<TopicPartition, PartitionState> merge(Collection<Map<TopicPartition, PartitionState>> images) {
        Map<TopicPartition, PartitionState> merged = new HashMap<>();
        for (Map<TopicPartition, PartitionState> image : images) {
            image.forEach((tp, s) -> {
                if (newer(s, merged.get(tp))) {
                    merged.put(tp, s);
                }
            });
        }
        return merged;
    }

    /** Loads the file; blocking. */
    public void load() {
        try {
            if (!Files.exists(file)) {
                return;
            }
            for (Object o : new JsonArray(Files.readString(file))) {
                JsonObject j = (JsonObject) o;
                states.put(new TopicPartition(j.getString("topic"), j.getInteger("partition")), fromJson(j));
            }
        } catch (IOException | RuntimeException e) {
            throw new KafkaStorageException("cannot read partition states " + file + ": " + e.getMessage(), e);
        }
    }

    public PartitionState get(TopicPartition tp) {
        return states.get(tp);
    }

    public Map<TopicPartition, PartitionState> snapshot() {
        return Map.copyOf(states);
    }

    /**
     * Keeps {@code state} if it is newer than the one known, persisting it before returning; blocking.
     *
     * @return whether it was newer (and so should be applied)
     */
    public boolean offer(TopicPartition tp, PartitionState state) {
        PartitionState old = states.get(tp);
        if (!newer(state, old)) {
            return false;
        }
        states.put(tp, state);
        try {
            persist();
        } catch (RuntimeException e) {
            if (old == null) {
                states.remove(tp);
            } else {
                states.put(tp, old);
            }
            throw e;
        }
        return true;
    }

    /** Forgets the partitions of a deleted topic; blocking. */
    public void removeTopic(String topic) {
        if (states.keySet().removeIf(tp -> tp.topic().equals(topic))) {
            persist();
        }
    }

    private static PartitionState fromJson(JsonObject j) {
        return new PartitionState(j.getInteger("leader"), j.getInteger("leaderEpoch"), ints(j.getJsonArray("replicas")),
                ints(j.getJsonArray("isr")), j.getInteger("partitionEpoch"));
    }

    private static List<Integer> ints(JsonArray a) {
        List<Integer> out = new ArrayList<>(a.size());
        for (int i = 0; i < a.size(); i++) {
            out.add(a.getInteger(i));
        }
        return out;
    }

    private void persist() {
        JsonArray arr = new JsonArray();
        states.forEach((tp, s) -> arr.add(new JsonObject().put("topic", tp.topic()).put("partition", tp.partition())
                .put("leader", s.leader()).put("leaderEpoch", s.leaderEpoch())
                .put("replicas", new JsonArray(s.replicas())).put("isr", new JsonArray(s.isr()))
                .put("partitionEpoch", s.partitionEpoch())));
        Path tmp = file.resolveSibling("partitions.json.tmp");
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(tmp, arr.encode(), StandardCharsets.UTF_8);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new KafkaStorageException("cannot write partition states " + file + ": " + e.getMessage(), e);
        }
    }
}
