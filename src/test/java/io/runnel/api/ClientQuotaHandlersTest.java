package io.runnel.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.metadata.ClientQuotaRecords;
import org.apache.kafka.common.message.AlterClientQuotasRequestData;
import org.apache.kafka.common.message.AlterClientQuotasRequestData.EntityData;
import org.apache.kafka.common.message.AlterClientQuotasRequestData.EntryData;
import org.apache.kafka.common.message.AlterClientQuotasRequestData.OpData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.requests.ApiError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClientQuotaHandlersTest {

    private static EntryData entry(List<EntityData> entity, OpData... ops) {
        return new EntryData().setEntity(entity).setOps(List.of(ops));
    }

    private static EntityData e(String type, String name) {
        return new EntityData().setEntityType(type).setEntityName(name);
    }

    private static OpData set(String key, double value) {
        return new OpData().setKey(key).setValue(value);
    }

    private static OpData remove(String key) {
        return new OpData().setKey(key).setRemove(true);
    }

    private static Map<ClientQuotaEntity, ApiError> validate(List<ClientQuotaRecords.Alteration> valid,
                                                             EntryData... entries) {
        Map<ClientQuotaEntity, ApiError> results = new LinkedHashMap<>();
        valid.addAll(ClientQuotaHandlers.validate(new AlterClientQuotasRequestData().setEntries(List.of(entries)),
                results));
        return results;
    }

    private static List<String> messages(Map<ClientQuotaEntity, ApiError> results) {
        List<String> out = new ArrayList<>();
        results.values().forEach(r -> out.add(r.error() + ": " + r.message()));
        return out;
    }

    @Test
    void validAlterationsOfUsersClientsAndDefaultsPass() {
        List<ClientQuotaRecords.Alteration> valid = new ArrayList<>();
        Map<ClientQuotaEntity, ApiError> results = validate(valid,
                entry(List.of(e("user", "alice")), set("producer_byte_rate", 1024), remove("consumer_byte_rate")),
                entry(List.of(e("user", null), e("client-id", null)), set("request_percentage", 12.5)),
                entry(List.of(e("client-id", "app")), set("consumer_byte_rate", 4096)));
        assertThat(results.values()).allMatch(r -> r.error() == Errors.NONE);
        assertThat(valid).hasSize(3);
        assertThat(valid.get(0).ops()).containsEntry("producer_byte_rate", 1024.0).containsEntry("consumer_byte_rate",
                null);
    }

    @Test
    void invalidAlterationsFailTheirEntityOnlyWithKafkasErrors() {
        List<ClientQuotaRecords.Alteration> valid = new ArrayList<>();
        Map<ClientQuotaEntity, ApiError> results = validate(valid,
                entry(List.of(e("user", "a")), set("producer_byte_rate", 10.5)),
                entry(List.of(e("user", "b")), set("no_such_key", 1)),
                entry(List.of(e("group", "g")), set("producer_byte_rate", 1)),
                entry(List.of(e("client-id", "")), set("producer_byte_rate", 1)),
                entry(List.of(), set("producer_byte_rate", 1)),
                entry(List.of(e("user", "c")), set("producer_byte_rate", 1), set("producer_byte_rate", 2)),
                entry(List.of(e("user", "d")), set("producer_byte_rate", -5)),
                entry(List.of(e("user", "ok")), set("producer_byte_rate", 100)));
        assertThat(messages(results)).containsExactly(
                "INVALID_REQUEST: Configuration producer_byte_rate must be a Long value",
                "INVALID_REQUEST: Invalid configuration key no_such_key",
                "INVALID_REQUEST: Unhandled client quota entity type: group",
                "INVALID_REQUEST: Empty client-id not supported",
                "INVALID_REQUEST: Invalid empty client quota entity",
                "INVALID_REQUEST: Duplicate quota key producer_byte_rate not updating quota for this entity "
                        + new ClientQuotaEntity(Map.of("user", "c")),
                "INVALID_REQUEST: Configuration producer_byte_rate must be a positive number, not -5.0",
                "NONE: null");
        assertThat(valid).hasSize(1);
    }

    @Test
    void quotasRunnelDoesNotEnforceAreRefusedRatherThanStored() {
        List<ClientQuotaRecords.Alteration> valid = new ArrayList<>();
        Map<ClientQuotaEntity, ApiError> results = validate(valid,
                entry(List.of(e("user", "a")), set("controller_mutation_rate", 10)),
                entry(List.of(e("ip", "127.0.0.1")), set("connection_creation_rate", 10)));
        assertThat(results.values()).allMatch(r -> r.error() == Errors.INVALID_REQUEST);
        assertThat(valid).isEmpty();
    }

    @Test
    void anEntityGivenTwiceIsRefused() {
        List<ClientQuotaRecords.Alteration> valid = new ArrayList<>();
        Map<ClientQuotaEntity, ApiError> results = validate(valid,
                entry(List.of(e("user", "a")), set("producer_byte_rate", 10)),
                entry(List.of(e("user", "a")), set("consumer_byte_rate", 10)));
        assertThat(messages(results)).containsExactly("INVALID_REQUEST: Ignoring duplicate entity "
                + new ClientQuotaEntity(Map.of("user", "a")));
        assertThat(valid).isEmpty();
    }
}
