package io.runnel.metadata;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.message.DescribeClientQuotasRequestData;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.requests.DescribeClientQuotasRequest;

/**
 * The cluster's client quotas as the metadata log holds them (Kafka's QuotaRecord): per entity (a user, a client
 * id, or both; a null name is the {@code <default>} entity of its type) the quota values by key
 * ({@code producer_byte_rate}, {@code consumer_byte_rate}, {@code request_percentage}). Every broker applies the same
 * records, so a quota set through any broker is enforced by every broker.
 *
 * <p>Record ({@value #ALTER}): {@code {"type":"AlterClientQuotas","entries":[{"entity":[{"type":"user","name":"alice"|null},
 * ..],"ops":[{"key":..,"value":1024.0} | {"key":..,"remove":true}]}]}}, one per AlterClientQuotas request, validated
 * by its proposer (see {@code io.runnel.api.ClientQuotaHandlers}). Snapshot: an array of
 * {@code {"entity":[..],"values":{"key":value}}}.
 *
 * <p>Threading: changed on the state machine's apply thread only, by replacing the whole (immutable) map; read from
 * any thread. {@link #version} changes with every change, so readers may cache what they derive from it.
 */
public final class ClientQuotaRecords {

    static final String ALTER = "AlterClientQuotas";
    static final String SNAPSHOT_KEY = "clientQuotas";

    /** One entity's changes: a key mapped to null is removed. */
    public record Alteration(ClientQuotaEntity entity, Map<String, Double> ops) {
    }

    private volatile Map<ClientQuotaEntity, Map<String, Double>> quotas = Map.of();
    private volatile long version;

    ClientQuotaRecords() {
    }

    /** Every entity with at least one quota, and its values by key (immutable). */
    public Map<ClientQuotaEntity, Map<String, Double>> all() {
        return quotas;
    }

    /** Counts changes: equal versions mean equal {@link #all()}. */
    public long version() {
        return version;
    }

    /** The record of one AlterClientQuotas request's valid alterations. */
    public static JsonObject record(List<Alteration> alterations) {
        JsonArray entries = new JsonArray();
        for (Alteration a : alterations) {
            JsonArray ops = new JsonArray();
            a.ops().forEach((key, value) -> ops.add(value == null ? new JsonObject().put("key", key).put("remove", true)
                    : new JsonObject().put("key", key).put("value", value)));
            entries.add(new JsonObject().put("entity", entityJson(a.entity())).put("ops", ops));
        }
        return new JsonObject().put("type", ALTER).put("entries", entries);
    }

    void apply(JsonObject record) {
        Map<ClientQuotaEntity, Map<String, Double>> next = new HashMap<>(quotas);
        record.getJsonArray("entries", new JsonArray()).forEach(o -> {
            JsonObject e = (JsonObject) o;
            ClientQuotaEntity entity = entityFromJson(e.getJsonArray("entity"));
            Map<String, Double> values = new TreeMap<>(next.getOrDefault(entity, Map.of()));
            e.getJsonArray("ops", new JsonArray()).forEach(x -> {
                JsonObject op = (JsonObject) x;
                if (op.getBoolean("remove", false)) {
                    values.remove(op.getString("key"));
                } else {
                    values.put(op.getString("key"), op.getDouble("value"));
                }
            });
            if (values.isEmpty()) {
                next.remove(entity);
            } else {
                next.put(entity, Collections.unmodifiableMap(values));
            }
        });
        set(next);
    }

    private void set(Map<ClientQuotaEntity, Map<String, Double>> next) {
        quotas = Collections.unmodifiableMap(next);
        version++;
    }

    JsonArray toJson() {
        JsonArray a = new JsonArray();
        quotas.forEach((entity, values) -> {
            JsonObject v = new JsonObject();
            values.forEach(v::put);
            a.add(new JsonObject().put("entity", entityJson(entity)).put("values", v));
        });
        return a;
    }

    void load(JsonArray a) {
        Map<ClientQuotaEntity, Map<String, Double>> next = new HashMap<>();
        if (a != null) {
            a.forEach(o -> {
                JsonObject e = (JsonObject) o;
                Map<String, Double> values = new TreeMap<>();
                e.getJsonObject("values").forEach(kv -> values.put(kv.getKey(), ((Number) kv.getValue()).doubleValue()));
                next.put(entityFromJson(e.getJsonArray("entity")), Collections.unmodifiableMap(values));
            });
        }
        set(next);
    }

    private static JsonArray entityJson(ClientQuotaEntity entity) {
        JsonArray a = new JsonArray();
        new TreeMap<>(entity.entries()).forEach((type, name) -> a.add(new JsonObject().put("type", type)
                .put("name", name)));
        return a;
    }

    private static ClientQuotaEntity entityFromJson(JsonArray a) {
        Map<String, String> entries = new HashMap<>();
        a.forEach(o -> entries.put(((JsonObject) o).getString("type"), ((JsonObject) o).getString("name")));
        return new ClientQuotaEntity(entries);
    }

    // ---- DescribeClientQuotas

    /**
     * The entities a DescribeClientQuotas filter selects, as Kafka's broker answers it: each component matches
     * one entity type exactly (a name), its default entity, or any entity of the type; with {@code strict} an
     * entity must have no other types. A malformed filter throws the kafka-clients exception Kafka answers with.
     */
    public Map<ClientQuotaEntity, Map<String, Double>> describe(DescribeClientQuotasRequestData request) {
        Map<String, String> exact = new HashMap<>();
        Set<String> anyOfType = new HashSet<>();
        for (DescribeClientQuotasRequestData.ComponentData c : request.components()) {
            String type = c.entityType();
            if (type.isEmpty()) {
                throw new InvalidRequestException("Invalid empty entity type.");
            }
            if (exact.containsKey(type) || anyOfType.contains(type)) {
                throw new InvalidRequestException("Entity type " + type + " cannot appear more than once in the filter.");
            }
            if (!type.equals(ClientQuotaEntity.USER) && !type.equals(ClientQuotaEntity.CLIENT_ID)
                    && !type.equals(ClientQuotaEntity.IP)) {
                throw new UnsupportedVersionException("Unsupported entity type " + type);
            }
            switch (c.matchType()) {
                case DescribeClientQuotasRequest.MATCH_TYPE_EXACT -> {
                    if (c.match() == null) {
                        throw new InvalidRequestException("Request specified MATCH_TYPE_EXACT, but set match string to null.");
                    }
                    exact.put(type, c.match());
                }
                case DescribeClientQuotasRequest.MATCH_TYPE_DEFAULT -> {
                    if (c.match() != null) {
                        throw new InvalidRequestException(
                                "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.");
                    }
                    exact.put(type, null);
                }
                case DescribeClientQuotasRequest.MATCH_TYPE_SPECIFIED -> {
                    if (c.match() != null) {
                        throw new InvalidRequestException(
                                "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.");
                    }
                    anyOfType.add(type);
                }
                default -> throw new InvalidRequestException("Unknown match type " + c.matchType());
            }
        }
        boolean ip = exact.containsKey(ClientQuotaEntity.IP) || anyOfType.contains(ClientQuotaEntity.IP);
        if (ip && (exact.size() + anyOfType.size() > 1)) {
            throw new InvalidRequestException("Invalid entity filter component combination. IP filter component should"
                    + " not be used with user or clientId filter component.");
        }
        Map<ClientQuotaEntity, Map<String, Double>> out = new LinkedHashMap<>();
        int components = exact.size() + anyOfType.size();
        new ArrayList<>(quotas.entrySet()).forEach(e -> {
            Map<String, String> entries = e.getKey().entries();
            boolean match = exact.entrySet().stream().allMatch(x -> entries.containsKey(x.getKey())
                    && java.util.Objects.equals(entries.get(x.getKey()), x.getValue()))
                    && anyOfType.stream().allMatch(entries::containsKey)
                    && (!request.strict() || entries.size() == components);
            if (match) {
                out.put(e.getKey(), e.getValue());
            }
        });
        return out;
    }
}
