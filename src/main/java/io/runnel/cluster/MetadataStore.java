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
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.KafkaStorageException;

/**
 * The topics this node knows, persisted as {@code <first log dir>/__runnel_meta/topics.json}.
 *
 * <p>Threading: reads ({@link #get}, {@link #all}, {@link #byId}) are lock-free from any thread.
 * Mutations ({@link #put}, {@link #remove}) write the file (fsync, atomic rename) and so are called only
 * from the metadata worker context, one at a time.
 */
public final class MetadataStore {

    private final Path file;
    private final Map<String, TopicInfo> byName = new ConcurrentHashMap<>();
    private final Map<Uuid, TopicInfo> byId = new ConcurrentHashMap<>();

    public MetadataStore(Path metaDir) {
        this.file = metaDir.resolve("topics.json");
    }

    /** Loads the file; blocking. */
    public void load() {
        try {
            Files.createDirectories(file.getParent());
            if (!Files.exists(file)) {
                return;
            }
            JsonArray arr = new JsonArray(Files.readString(file));
            for (Object o : arr) {
                JsonObject j = (JsonObject) o;
                Map<String, String> configs = new HashMap<>();
                j.getJsonObject("configs", new JsonObject()).forEach(e -> configs.put(e.getKey(), (String) e.getValue()));
                TopicInfo t = new TopicInfo(j.getString("name"), Uuid.fromString(j.getString("id")),
                        j.getInteger("partitions"), j.getInteger("replicationFactor", 1).shortValue(), Map.copyOf(configs));
                byName.put(t.name(), t);
                byId.put(t.id(), t);
            }
        } catch (IOException | RuntimeException e) {
            throw new KafkaStorageException("cannot read topic metadata " + file + ": " + e.getMessage(), e);
        }
    }

    public TopicInfo get(String name) {
        return byName.get(name);
    }

    public TopicInfo byId(Uuid id) {
        return byId.get(id);
    }

    public Collection<TopicInfo> all() {
        return byName.values();
    }

    /** Adds or replaces a topic and persists; blocking. */
    public void put(TopicInfo t) {
        TopicInfo old = byName.put(t.name(), t);
        byId.put(t.id(), t);
        try {
            persist();
        } catch (RuntimeException e) {
            if (old == null) {
                byName.remove(t.name());
                byId.remove(t.id());
            } else {
                byName.put(old.name(), old);
                byId.put(old.id(), old);
            }
            throw e;
        }
    }

    /** Removes a topic and persists; blocking. */
    public void remove(String name) {
        TopicInfo t = byName.remove(name);
        if (t != null) {
            byId.remove(t.id());
            persist();
        }
    }

    private void persist() {
        List<TopicInfo> topics = new ArrayList<>(byName.values());
        JsonArray arr = new JsonArray();
        for (TopicInfo t : topics) {
            JsonObject configs = new JsonObject();
            t.configs().forEach(configs::put);
            arr.add(new JsonObject().put("name", t.name()).put("id", t.id().toString())
                    .put("partitions", t.partitions()).put("replicationFactor", (int) t.replicationFactor())
                    .put("configs", configs));
        }
        Path tmp = file.resolveSibling("topics.json.tmp");
        try {
            Files.writeString(tmp, arr.encodePrettily(), StandardCharsets.UTF_8);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new KafkaStorageException("cannot write topic metadata " + file + ": " + e.getMessage(), e);
        }
    }
}
