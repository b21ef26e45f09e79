package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.message.DescribeClientQuotasRequestData;
import org.apache.kafka.common.message.DescribeClientQuotasRequestData.ComponentData;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.requests.DescribeClientQuotasRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClientQuotaRecordsTest {

    private static ClientQuotaEntity entity(String user, String clientId, boolean hasUser, boolean hasClient) {
        Map<String, String> m = new HashMap<>();
        if (hasUser) {
            m.put(ClientQuotaEntity.USER, user);
        }
        if (hasClient) {
            m.put(ClientQuotaEntity.CLIENT_ID, clientId);
        }
        return new ClientQuotaEntity(m);
    }

    private static Map<String, Double> ops(Object... kv) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], (Double) kv[i + 1]);
        }
        return m;
    }

    private static ClientQuotaRecords sample() {
        ClientQuotaRecords q = new ClientQuotaRecords();
        q.apply(ClientQuotaRecords.record(List.of(
                new ClientQuotaRecords.Alteration(entity("alice", null, true, false), ops("producer_byte_rate", 1024.0)),
                new ClientQuotaRecords.Alteration(entity(null, null, true, false), ops("consumer_byte_rate", 2048.0)),
                new ClientQuotaRecords.Alteration(entity("alice", "app", true, true), ops("request_percentage", 50.0)),
                new ClientQuotaRecords.Alteration(entity(null, "app", false, true), ops("producer_byte_rate", 10.0)))));
        return q;
    }

    private static DescribeClientQuotasRequestData filter(boolean strict, ComponentData... components) {
        return new DescribeClientQuotasRequestData().setStrict(strict).setComponents(List.of(components));
    }

    private static ComponentData exact(String type, String name) {
        return new ComponentData().setEntityType(type).setMatchType(DescribeClientQuotasRequest.MATCH_TYPE_EXACT)
                .setMatch(name);
    }

    private static ComponentData ofDefault(String type) {
        return new ComponentData().setEntityType(type).setMatchType(DescribeClientQuotasRequest.MATCH_TYPE_DEFAULT)
                .setMatch(null);
    }

    private static ComponentData specified(String type) {
        return new ComponentData().setEntityType(type).setMatchType(DescribeClientQuotasRequest.MATCH_TYPE_SPECIFIED)
                .setMatch(null);
    }

    @Test
    void recordsApplyAndRemoveKeysAndSnapshotsKeepThem() {
        ClientQuotaRecords q = sample();
        assertThat(q.all()).hasSize(4);
        assertThat(q.all().get(entity("alice", null, true, false))).containsEntry("producer_byte_rate", 1024.0);
        long before = q.version();
        q.apply(ClientQuotaRecords.record(List.of(new ClientQuotaRecords.Alteration(entity("alice", null, true, false),
                ops("producer_byte_rate", null)))));
        assertThat(q.version()).isGreaterThan(before);
        assertThat(q.all()).hasSize(3).doesNotContainKey(entity("alice", null, true, false));

        JsonObject snapshot = new JsonObject().put("q", q.toJson());
        ClientQuotaRecords restored = new ClientQuotaRecords();
        restored.load(new JsonObject(snapshot.encode()).getJsonArray("q"));
        assertThat(restored.all()).isEqualTo(q.all());
        // the default entity (a null name) survives the JSON round trip
        assertThat(restored.all()).containsKey(entity(null, null, true, false));
    }

    @Test
    void describeMatchesExactDefaultAndAnyEntityAsKafkaDoes() {
        ClientQuotaRecords q = sample();
        assertThat(q.describe(filter(false))).hasSize(4);
        assertThat(q.describe(filter(true))).isEmpty();
        assertThat(q.describe(filter(false, exact("user", "alice"))).keySet())
                .containsExactlyInAnyOrder(entity("alice", null, true, false), entity("alice", "app", true, true));
        assertThat(q.describe(filter(true, exact("user", "alice"))).keySet())
                .containsExactly(entity("alice", null, true, false));
        assertThat(q.describe(filter(true, ofDefault("user"))).keySet())
                .containsExactly(entity(null, null, true, false));
        assertThat(q.describe(filter(true, specified("client-id"))).keySet())
                .containsExactly(entity(null, "app", false, true));
        assertThat(q.describe(filter(false, specified("client-id"))).keySet())
                .containsExactlyInAnyOrder(entity(null, "app", false, true), entity("alice", "app", true, true));
        assertThat(q.describe(filter(true, exact("user", "alice"), exact("client-id", "app"))).keySet())
                .containsExactly(entity("alice", "app", true, true));
        assertThat(q.describe(filter(false, exact("user", "nobody")))).isEmpty();
    }

    @Test
    void describeRefusesMalformedFiltersWithKafkasMessages() {
        ClientQuotaRecords q = sample();
        assertThatThrownBy(() -> q.describe(filter(false, exact("user", "a"), specified("user"))))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessage("Entity type user cannot appear more than once in the filter.");
        assertThatThrownBy(() -> q.describe(filter(false, exact("user", null))))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessage("Request specified MATCH_TYPE_EXACT, but set match string to null.");
        assertThatThrownBy(() -> q.describe(filter(false, specified("ip"), specified("user"))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("IP filter component");
        assertThatThrownBy(() -> q.describe(filter(false, specified("group"))))
                .isInstanceOf(org.apache.kafka.common.errors.UnsupportedVersionException.class);
    }
}
