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
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.Predicate;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.errors.KafkaStorageException;

/**
 * Cluster metadata a broker has seen, persisted as one JSON file (fsync, atomic rename), where a value is
 * only ever replaced by a newer one, so what a broker acted on never goes backwards across restarts.
 *
 * <p>Threading: reads from any thread; {@link #offer} and {@link #removeIf} write the file and are called
 * from one context only.
 *
 * @param <K> key, written as the JSON field {@code key}
 * @param <V> value, written as the rest of the JSON object
 */
public final class VersionedStore<K, V> {

    /** How keys and values are written and which of two values is newer. */
    public record Codec<K, V>(Function<K, String> keyToString, Function<String, K> keyFromString,
                              Function<V, JsonObject> toJson, Function<JsonObject, V> fromJson,
                              BiPredicate<V, V> isNewer) {
    }

    private final Path file;
    private final Codec<K, V> codec;
    private final Map<K, V> values = new ConcurrentHashMap<>();

    public VersionedStore(Path file, Codec<K, V> codec) {
        this.file = file;
        this.codec = codec;
    }

    public Codec<K, V> codec() {
        return codec;
    }

    /** Per key, the newest of the given images (what the controller rebuilds after a full restart). */
    public static <K, V> Map<K, V> merge(Collection<Map<K, V>> images, BiPredicate<V, V> isNewer) {
        Map<K, V> merged = new HashMap<>();
        for (Map<K, V> image : images) {
            image.forEach((k, v) -> {
                V current = merged.get(k);
                if (current == null || isNewer.test(v, current)) {
                    merged.put(k, v);
                }
            });
        }
        return merged;
    }

    /** Loads the file; blocking. */
    public void load() {
        try {
            if (Files.exists(file)) {
                values.putAll(decode(Files.readString(file)));
            }
        } catch (IOException | RuntimeException e) {
            throw new KafkaStorageException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public V get(K key) {
        return values.get(key);
    }

    public Map<K, V> snapshot() {
        return Map.copyOf(values);
    }

    /** Keeps {@code value} if newer than the known one, persisting it first; returns whether it was. Blocking. */
    public boolean offer(K key, V value) {
        V old = values.get(key);
        if (old != null && !codec.isNewer().test(value, old)) {
            return false;
        }
        values.put(key, value);
        try {
            persist();
        } catch (RuntimeException e) {
            if (old == null) {
                values.remove(key);
            } else {
                values.put(key, old);
            }
            throw e;
        }
        return true;
    }

    /** Forgets the matching keys; blocking. */
    public void removeIf(Predicate<K> which) {
        if (values.keySet().removeIf(which)) {
            persist();
        }
    }

    /** The whole content as JSON, as brokers publish it for a full-restart rebuild. */
    public String encode() {
        JsonArray arr = new JsonArray();
        values.forEach((k, v) -> arr.add(codec.toJson().apply(v).put("key", codec.keyToString().apply(k))));
        return arr.encode();
    }

    public Map<K, V> decode(String json) {
        Map<K, V> out = new HashMap<>();
        for (Object o : new JsonArray(json)) {
            JsonObject j = (JsonObject) o;
            out.put(codec.keyFromString().apply(j.getString("key")), codec.fromJson().apply(j));
        }
        return out;
    }

    private void persist() {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(tmp, encode(), StandardCharsets.UTF_8);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new KafkaStorageException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    static List<Integer> ints(JsonArray a) {
        List<Integer> out = new ArrayList<>(a.size());
        for (int i = 0; i < a.size(); i++) {
            out.add(a.getInteger(i));
        }
        return out;
    }
}
