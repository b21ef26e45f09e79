package io.runnel.quota;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClientQuotaManagerTest {

    private static final String KEY = "producer_byte_rate";
    /** A null name is the entity type's default. */
    private static final String DEFAULT = null;

    private static ClientQuotaEntity user(String u) {
        Map<String, String> m = new HashMap<>();
        m.put(ClientQuotaEntity.USER, u);
        return new ClientQuotaEntity(m);
    }

    private static ClientQuotaEntity client(String c) {
        Map<String, String> m = new HashMap<>();
        m.put(ClientQuotaEntity.CLIENT_ID, c);
        return new ClientQuotaEntity(m);
    }

    private static ClientQuotaEntity both(String u, String c) {
        Map<String, String> m = new HashMap<>();
        m.put(ClientQuotaEntity.USER, u);
        m.put(ClientQuotaEntity.CLIENT_ID, c);
        return new ClientQuotaEntity(m);
    }

    @Test
    void mostSpecificEntityWinsInKafkasOrder() {
        Map<ClientQuotaEntity, Map<String, Double>> q = new HashMap<>();
        q.put(client(DEFAULT), Map.of(KEY, 8.0));
        assertThat(ClientQuotaManager.resolve(q, KEY, "alice", "app"))
                .isEqualTo(new ClientQuotaManager.Match("", "app", 8.0));
        q.put(client("app"), Map.of(KEY, 7.0));
        assertThat(ClientQuotaManager.resolve(q, KEY, "alice", "app"))
                .isEqualTo(new ClientQuotaManager.Match("", "app", 7.0));
        q.put(user(DEFAULT), Map.of(KEY, 6.0));
        assertThat(ClientQuotaManager.resolve(q, KEY, "alice", "app"))
                .isEqualTo(new ClientQuotaManager.Match("alice", "", 6.0));
        q.put(both(DEFAULT, DEFAULT), Map.of(KEY, 5.0));
        assertThat(ClientQuotaManager.resolve(q, KEY, "alice", "app"))
                .isEqualTo(new ClientQuotaManager.Match("alice", "app", 5.0));
        q.put(both(DEFAULT, "app"), Map.of(KEY, 4.0));
        assertThat(ClientQuotaManager.resolve(q, KEY, "alice", "app"))
                .isEqualTo(new ClientQuotaManager.Match("alice", "app", 4.0));
        q.put(user("alice"), Map.of(KEY, 3.0));
        assertThat(ClientQuotaManager.resolve(q, KEY, "alice", "app"))
                .isEqualTo(new ClientQuotaManager.Match("alice", "", 3.0));
        q.put(both("alice", DEFAULT), Map.of(KEY, 2.0));
        assertThat(ClientQuotaManager.resolve(q, KEY, "alice", "app"))
                .isEqualTo(new ClientQuotaManager.Match("alice", "app", 2.0));
        q.put(both("alice", "app"), Map.of(KEY, 1.0));
        assertThat(ClientQuotaManager.resolve(q, KEY, "alice", "app"))
                .isEqualTo(new ClientQuotaManager.Match("alice", "app", 1.0));
        // another user and client id still fall through to the defaults
        assertThat(ClientQuotaManager.resolve(q, KEY, "bob", "other"))
                .isEqualTo(new ClientQuotaManager.Match("bob", "other", 5.0));
    }

    @Test
    void onlyEntitiesSettingThisKindOfQuotaMatch() {
        Map<ClientQuotaEntity, Map<String, Double>> q = new HashMap<>();
        q.put(user("alice"), Map.of("consumer_byte_rate", 100.0));
        q.put(client("app"), Map.of(KEY, 50.0));
        assertThat(ClientQuotaManager.resolve(q, KEY, "alice", "app"))
                .isEqualTo(new ClientQuotaManager.Match("", "app", 50.0));
        assertThat(ClientQuotaManager.resolve(q, KEY, "alice", "other")).isNull();
        assertThat(ClientQuotaManager.resolve(q, "consumer_byte_rate", "alice", "other"))
                .isEqualTo(new ClientQuotaManager.Match("alice", "", 100.0));
    }

    @Test
    void defaultClientQuotaGivesEachClientIdItsOwnRateButAUserQuotaIsShared() {
        AtomicReference<Map<ClientQuotaEntity, Map<String, Double>>> q = new AtomicReference<>(
                Map.of(client(DEFAULT), Map.of(KEY, 1000.0)));
        ClientQuotaManager m = new ClientQuotaManager(QuotaType.PRODUCE, 11, 1000, q::get);
        // each client id may burst its own 10 s of quota
        assertThat(m.recordAndGetThrottleTimeMs("u", "a", 10_000, 0)).isZero();
        assertThat(m.recordAndGetThrottleTimeMs("u", "b", 10_000, 0)).isZero();
        assertThat(m.recordAndGetThrottleTimeMs("u", "a", 1000, 0)).isEqualTo(1000);
        // a quota on the user: its client ids share one rate (a fresh map: the manager re-resolves)
        q.set(Map.of(user("v"), Map.of(KEY, 1000.0)));
        assertThat(m.recordAndGetThrottleTimeMs("v", "a", 10_000, 0)).isZero();
        assertThat(m.recordAndGetThrottleTimeMs("v", "b", 1000, 0)).isEqualTo(1000);
    }

    @Test
    void withoutAQuotaNothingIsMeasuredOrThrottled() {
        ClientQuotaManager m = new ClientQuotaManager(QuotaType.PRODUCE, 11, 1000, Map::of);
        assertThat(m.enabled()).isFalse();
        assertThat(m.recordAndGetThrottleTimeMs("u", "c", 1e12, 0)).isZero();
        assertThat(m.maxValueInQuotaWindow("u", "c")).isEqualTo(Double.MAX_VALUE);
        int[] seen = {0};
        m.forEachRate(0, (u, c, r, l) -> seen[0]++);
        assertThat(seen[0]).isZero();
    }

    @Test
    void requestTimeThrottleIsCappedAtOneWindowByteRatesAreNot() {
        Map<ClientQuotaEntity, Map<String, Double>> q = Map.of(client("c"),
                Map.of("request_percentage", 10.0, KEY, 10.0));
        ClientQuotaManager request = new ClientQuotaManager(QuotaType.REQUEST, 11, 1000, () -> q);
        assertThat(request.recordAndGetThrottleTimeMs("u", "c", 1000, 0)).isEqualTo(1000);
        ClientQuotaManager produce = new ClientQuotaManager(QuotaType.PRODUCE, 11, 1000, () -> q);
        assertThat(produce.recordAndGetThrottleTimeMs("u", "c", 1000, 0)).isEqualTo(90_000);
    }

    @Test
    void fetchesAreCappedAtWhatTheQuotaAllowsOverAllButOneWindow() {
        Map<ClientQuotaEntity, Map<String, Double>> q = Map.of(client("c"), Map.of("consumer_byte_rate", 1000.0));
        ClientQuotaManager m = new ClientQuotaManager(QuotaType.FETCH, 11, 2000, () -> q);
        assertThat(m.maxValueInQuotaWindow("u", "c")).isEqualTo(20_000.0);
    }

    @Test
    void idleRatesExpireAfterAnHour() {
        Map<ClientQuotaEntity, Map<String, Double>> q = Map.of(client(DEFAULT), Map.of(KEY, 1000.0));
        ClientQuotaManager m = new ClientQuotaManager(QuotaType.PRODUCE, 11, 1000, () -> q);
        m.recordAndGetThrottleTimeMs("u", "a", 10, 0);
        m.expireIdle(ClientQuotaManager.INACTIVE_EXPIRY_MS);
        int[] seen = {0};
        m.forEachRate(0, (u, c, r, l) -> seen[0]++);
        assertThat(seen[0]).isEqualTo(1);
        m.expireIdle(ClientQuotaManager.INACTIVE_EXPIRY_MS + 1);
        seen[0] = 0;
        m.forEachRate(0, (u, c, r, l) -> seen[0]++);
        assertThat(seen[0]).isZero();
    }
}
