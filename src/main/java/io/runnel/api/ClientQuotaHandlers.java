package io.runnel.api;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import io.runnel.metadata.ClientQuotaRecords;
import io.runnel.protocol.RequestContext;
import io.runnel.quota.QuotaType;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.AlterClientQuotasRequestData;
import org.apache.kafka.common.message.AlterClientQuotasResponseData;
import org.apache.kafka.common.message.DescribeClientQuotasRequestData;
import org.apache.kafka.common.message.DescribeClientQuotasResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.requests.AlterClientQuotasResponse;
import org.apache.kafka.common.requests.ApiError;
import org.apache.kafka.common.requests.DescribeClientQuotasResponse;

/**
 * DescribeClientQuotas and AlterClientQuotas (KIP-546), what {@code Admin.describeClientQuotas / alterClientQuotas}
 * and {@code kafka-configs.sh --entity-type users|clients} use. Quotas are records of the metadata log (see
 * {@link ClientQuotaRecords}), so every broker enforces the same ones.
 *
 * <p>As Kafka: describing needs DESCRIBE_CONFIGS on the cluster, altering ALTER_CONFIGS (CLUSTER_AUTHORIZATION_FAILED
 * otherwise); an entity is a user, a client id or both, a null name being the {@code <default>} entity; each
 * alteration is checked on its own (INVALID_REQUEST with Kafka's messages: unknown entity type, empty name, unknown
 * key, a byte rate that is not a whole number, a key or an entity given twice); {@code validate_only} checks without
 * changing anything. Runnel enforces {@code producer_byte_rate}, {@code consumer_byte_rate} and
 * {@code request_percentage}; the keys it does not enforce ({@code controller_mutation_rate}, an ip's
 * {@code connection_creation_rate}) are refused with INVALID_REQUEST saying so, rather than stored and ignored.
 */
public final class ClientQuotaHandlers {

    /** The quota keys of user and client-id entities, and whether each must be a whole number (Kafka's LONG). */
    static final Map<String, Boolean> KEYS = Map.of(
            QuotaType.PRODUCE.key(), true,
            QuotaType.FETCH.key(), true,
            QuotaType.REQUEST.key(), false);
    static final String CONTROLLER_MUTATION_RATE = "controller_mutation_rate";

    private ClientQuotaHandlers() {
    }

    public static final class Describe implements ApiHandler<DescribeClientQuotasRequestData> {
        private final ClientQuotaRecords quotas;

        public Describe(ClientQuotaRecords quotas) {
            this.quotas = quotas;
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.DESCRIBE_CLIENT_QUOTAS;
        }

        @Override
        public Future<DescribeClientQuotasResponseData> handle(RequestContext ctx, DescribeClientQuotasRequestData r) {
            if (!ctx.clusterAuthorized(AclOperation.DESCRIBE_CONFIGS)) {
                return Future.succeededFuture(new DescribeClientQuotasResponseData().setEntries(null)
                        .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code())
                        .setErrorMessage(Errors.CLUSTER_AUTHORIZATION_FAILED.message()));
            }
            try {
                return Future.succeededFuture(DescribeClientQuotasResponse.fromQuotaEntities(quotas.describe(r), 0)
                        .data());
            } catch (org.apache.kafka.common.errors.ApiException e) {
                return Future.succeededFuture(new DescribeClientQuotasResponseData().setEntries(null)
                        .setErrorCode(Errors.forException(e).code()).setErrorMessage(e.getMessage()));
            }
        }
    }

    public static final class Alter implements ApiHandler<AlterClientQuotasRequestData> {
        private final Function<JsonObject, Future<JsonObject>> propose;

        /** @param propose proposes a metadata record; completes (on the caller's context) once applied here */
        public Alter(Function<JsonObject, Future<JsonObject>> propose) {
            this.propose = propose;
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.ALTER_CLIENT_QUOTAS;
        }

        @Override
        public Future<AlterClientQuotasResponseData> handle(RequestContext ctx, AlterClientQuotasRequestData request) {
            Map<ClientQuotaEntity, ApiError> results = new LinkedHashMap<>();
            if (!ctx.clusterAuthorized(AclOperation.ALTER_CONFIGS)) {
                request.entries().forEach(e -> results.put(entity(e),
                        new ApiError(Errors.CLUSTER_AUTHORIZATION_FAILED, Errors.CLUSTER_AUTHORIZATION_FAILED.message())));
                return Future.succeededFuture(AlterClientQuotasResponse.fromQuotaEntities(results, 0).data());
            }
            List<ClientQuotaRecords.Alteration> valid = validate(request, results);
            Future<JsonObject> applied = valid.isEmpty() || request.validateOnly()
                    ? Future.succeededFuture(new JsonObject())
                    : propose.apply(ClientQuotaRecords.record(valid));
            return applied.map(v -> AlterClientQuotasResponse.fromQuotaEntities(results, 0).data());
        }
    }

    private static ClientQuotaEntity entity(AlterClientQuotasRequestData.EntryData e) {
        Map<String, String> entries = new HashMap<>();
        e.entity().forEach(d -> entries.put(d.entityType(), d.entityName()));
        return new ClientQuotaEntity(entries);
    }

    /**
     * Kafka's checks of each entry: the valid alterations are returned, every entity gets its result (NONE for the
     * valid ones) in {@code results}.
     */
    static List<ClientQuotaRecords.Alteration> validate(AlterClientQuotasRequestData request,
                                                        Map<ClientQuotaEntity, ApiError> results) {
        Map<ClientQuotaEntity, ClientQuotaRecords.Alteration> valid = new LinkedHashMap<>();
        for (AlterClientQuotasRequestData.EntryData e : request.entries()) {
            ClientQuotaEntity entity = entity(e);
            if (results.containsKey(entity)) {
                valid.remove(entity);
                results.put(entity, new ApiError(Errors.INVALID_REQUEST, "Ignoring duplicate entity " + entity));
                continue;
            }
            Map<String, Double> ops = new LinkedHashMap<>();
            ApiError error = checkEntity(e);
            for (AlterClientQuotasRequestData.OpData op : e.ops()) {
                if (error != null) {
                    break;
                }
                if (ops.containsKey(op.key())) {
                    error = new ApiError(Errors.INVALID_REQUEST, "Duplicate quota key " + op.key()
                            + " not updating quota for this entity " + entity);
                } else if (op.remove()) {
                    ops.put(op.key(), null);
                } else {
                    error = checkValue(op.key(), op.value());
                    ops.put(op.key(), op.value());
                }
            }
            if (error != null) {
                results.put(entity, error);
            } else {
                results.put(entity, ApiError.NONE);
                if (!ops.isEmpty()) {
                    valid.put(entity, new ClientQuotaRecords.Alteration(entity, ops));
                }
            }
        }
        return new ArrayList<>(valid.values());
    }

    private static ApiError checkEntity(AlterClientQuotasRequestData.EntryData e) {
        if (e.entity().isEmpty()) {
            return new ApiError(Errors.INVALID_REQUEST, "Invalid empty client quota entity");
        }
        java.util.Set<String> types = new java.util.HashSet<>();
        for (AlterClientQuotasRequestData.EntityData d : e.entity()) {
            String type = d.entityType();
            if (!types.add(type)) {
                return new ApiError(Errors.INVALID_REQUEST,
                        "Invalid empty client quota entity, duplicate entity entry " + type);
            }
            if (type.equals(ClientQuotaEntity.IP)) {
                return new ApiError(Errors.INVALID_REQUEST, "Runnel does not enforce IP connection-rate quotas"
                        + " (connection_creation_rate); use max.connections.per.ip");
            }
            if (!type.equals(ClientQuotaEntity.USER) && !type.equals(ClientQuotaEntity.CLIENT_ID)) {
                return new ApiError(Errors.INVALID_REQUEST, "Unhandled client quota entity type: " + type);
            }
            if (d.entityName() != null && d.entityName().isEmpty()) {
                return new ApiError(Errors.INVALID_REQUEST, "Empty " + type + " not supported");
            }
        }
        return null;
    }

    private static ApiError checkValue(String key, double value) {
        if (CONTROLLER_MUTATION_RATE.equals(key)) {
            return new ApiError(Errors.INVALID_REQUEST, "Runnel does not enforce " + key
                    + "; quotas it enforces: " + String.join(", ", new java.util.TreeSet<>(KEYS.keySet())));
        }
        Boolean whole = KEYS.get(key);
        if (whole == null) {
            return new ApiError(Errors.INVALID_REQUEST, "Invalid configuration key " + key);
        }
        if (!(value > 0) || Double.isInfinite(value)) {
            return new ApiError(Errors.INVALID_REQUEST, "Configuration " + key + " must be a positive number, not "
                    + value);
        }
        if (whole) {
            double epsilon = 1e-6;
            long asLong = (long) (value + epsilon);
            if (Math.abs(asLong - value) > epsilon) {
                return new ApiError(Errors.INVALID_REQUEST, "Configuration " + key + " must be a Long value");
            }
        }
        return null;
    }
}
