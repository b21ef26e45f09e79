package io.runnel.quota;

import java.util.Map;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import org.apache.kafka.common.quota.ClientQuotaEntity;

/**
 * One kind of client quota ({@link QuotaType}) as Kafka's ClientQuotaManager applies it: each request is charged to
 * the most specific quota entity that sets this kind's key for the request's user principal and client id, in
 * Kafka's order of precedence:
 * <ol>
 *   <li>user and client id: {@code users/<user>/clients/<client-id>}</li>
 *   <li>{@code users/<user>/clients/<default>}</li>
 *   <li>{@code users/<user>}</li>
 *   <li>{@code users/<default>/clients/<client-id>}</li>
 *   <li>{@code users/<default>/clients/<default>}</li>
 *   <li>{@code users/<default>}</li>
 *   <li>{@code clients/<client-id>}</li>
 *   <li>{@code clients/<default>}</li>
 * </ol>
 * The rate is kept per (user, client id) pair as the matched entity names them (Kafka's metric tags): a quota on a
 * user alone is shared by all that user's client ids; a default quota still gives each user or client id a rate of
 * its own. Rates are {@link QuotaRate}s over {@code quota.window.num} windows of {@code quota.window.size.seconds}.
 * With no entity setting this kind's key, nothing is measured and nothing costs more than one map read.
 *
 * <p>Threading: any thread. Quotas come from an immutable map replaced whole on each change (the metadata image's);
 * what is resolved from it is cached until it changes.
 */
public final class ClientQuotaManager {

    /** Kafka expires the sensor of a user / client id after an hour without requests. */
    static final long INACTIVE_EXPIRY_MS = 3_600_000L;

    /** Where a request's usage is counted and against which limit. */
    public record Match(String userTag, String clientIdTag, double limit) {
    }

    private record Key(String user, String clientId) {
    }

    private record Resolution(Map<ClientQuotaEntity, Map<String, Double>> quotas, boolean any,
                              ConcurrentHashMap<Key, java.util.Optional<Match>> matches) {
    }

    private static final class Sensor {
        final QuotaRate rate;
        volatile long lastRecordMs;
        volatile double limit;

        Sensor(QuotaRate rate) {
            this.rate = rate;
        }
    }

    private final QuotaType type;
    private final int samples;
    private final long windowMs;
    private final Supplier<Map<ClientQuotaEntity, Map<String, Double>>> source;
    private final ConcurrentHashMap<Key, Sensor> sensors = new ConcurrentHashMap<>();
    private volatile Resolution resolution;

    public ClientQuotaManager(QuotaType type, int samples, long windowMs,
                              Supplier<Map<ClientQuotaEntity, Map<String, Double>>> source) {
        this.type = type;
        this.samples = samples;
        this.windowMs = windowMs;
        this.source = source;
    }

    public QuotaType type() {
        return type;
    }

    /** Whether any entity sets this kind of quota (nothing is measured otherwise). */
    public boolean enabled() {
        return current().any();
    }

    /** The quota that applies to {@code user} (principal name) and {@code clientId}; null when none does. */
    public Match match(String user, String clientId) {
        Resolution r = current();
        if (!r.any()) {
            return null;
        }
        return r.matches().computeIfAbsent(new Key(user, clientId),
                k -> java.util.Optional.ofNullable(resolve(r.quotas(), type.key(), user, clientId))).orElse(null);
    }

    /**
     * Records {@code value} (bytes, or percent of a thread's time) for the request and answers the throttle time in
     * ms: 0 while within the quota, and 0 without a quota (nothing is recorded then).
     */
    public int recordAndGetThrottleTimeMs(String user, String clientId, double value, long nowMs) {
        Match m = match(user, clientId);
        if (m == null) {
            return 0;
        }
        Sensor s = sensor(m);
        s.lastRecordMs = nowMs;
        long throttle = s.rate.recordAndThrottleMs(value, m.limit(), nowMs);
        if (type.boundedByWindow()) {
            throttle = Math.min(throttle, windowMs);
        }
        return (int) Math.min(throttle, Integer.MAX_VALUE);
    }

    /** Takes back what {@link #recordAndGetThrottleTimeMs} recorded (a throttled fetch sends no data). */
    public void unrecord(String user, String clientId, double value, long nowMs) {
        Match m = match(user, clientId);
        if (m != null) {
            sensor(m).rate.record(-value, nowMs);
        }
    }

    /**
     * The most a single response may carry under the quota: what {@code samples - 1} windows allow (Kafka caps a
     * fetch's max bytes at it, so one response cannot hold more than the quota permits over the span).
     */
    public double maxValueInQuotaWindow(String user, String clientId) {
        Match m = match(user, clientId);
        return m == null ? Double.MAX_VALUE : m.limit() * (samples - 1) * (windowMs / 1000.0);
    }

    /** The current rate of each (user, client id) being measured, with its limit: for the metrics. */
    public void forEachRate(long nowMs, RateVisitor visitor) {
        sensors.forEach((k, s) -> visitor.visit(k.user(), k.clientId(), s.rate.rate(nowMs), s.limit));
    }

    /** Receives one measured rate. */
    @FunctionalInterface
    public interface RateVisitor {
        void visit(String userTag, String clientIdTag, double rate, double limit);
    }

    /** Forgets the rates of users / client ids idle for an hour, as Kafka expires their sensors. */
    public void expireIdle(long nowMs) {
        sensors.entrySet().removeIf(e -> nowMs - e.getValue().lastRecordMs > INACTIVE_EXPIRY_MS);
    }

    private Sensor sensor(Match m) {
        Sensor s = sensors.computeIfAbsent(new Key(m.userTag(), m.clientIdTag()),
                k -> new Sensor(new QuotaRate(samples, windowMs)));
        s.limit = m.limit();
        return s;
    }

    private Resolution current() {
        Map<ClientQuotaEntity, Map<String, Double>> quotas = source.get();
        Resolution r = resolution;
        if (r == null || r.quotas() != quotas) {
            boolean any = quotas.values().stream().anyMatch(v -> v.containsKey(type.key()));
            r = new Resolution(quotas, any, new ConcurrentHashMap<>());
            resolution = r;
        }
        return r;
    }

    /**
     * Kafka's precedence (see the class comment): the first entity setting {@code key}, with the tags that say whose
     * rate it is. Null when none applies.
     */
    public static Match resolve(Map<ClientQuotaEntity, Map<String, Double>> quotas, String key, String user,
                                String clientId) {
        String u = user == null ? "" : user;
        String c = clientId == null ? "" : clientId;
        Double v;
        if ((v = value(quotas, key, u, c, true, true)) != null      // users/<user>/clients/<client-id>
                || (v = value(quotas, key, u, null, true, true)) != null // users/<user>/clients/<default>
                ) {
            return new Match(u, c, v);
        }
        if ((v = value(quotas, key, u, null, true, false)) != null) { // users/<user>
            return new Match(u, "", v);
        }
        if ((v = value(quotas, key, null, c, true, true)) != null       // users/<default>/clients/<client-id>
                || (v = value(quotas, key, null, null, true, true)) != null) { // users/<default>/clients/<default>
            return new Match(u, c, v);
        }
        if ((v = value(quotas, key, null, null, true, false)) != null) { // users/<default>
            return new Match(u, "", v);
        }
        if ((v = value(quotas, key, null, c, false, true)) != null       // clients/<client-id>
                || (v = value(quotas, key, null, null, false, true)) != null) { // clients/<default>
            return new Match("", c, v);
        }
        return null;
    }

    /** The value of {@code key} for the entity of the given names (null name: the default entity). */
    private static Double value(Map<ClientQuotaEntity, Map<String, Double>> quotas, String key, String user,
                                String clientId, boolean hasUser, boolean hasClient) {
        Map<String, String> entries = new java.util.HashMap<>(2);
        if (hasUser) {
            entries.put(ClientQuotaEntity.USER, user);
        }
        if (hasClient) {
            entries.put(ClientQuotaEntity.CLIENT_ID, clientId);
        }
        Map<String, Double> values = quotas.get(new ClientQuotaEntity(entries));
        return values == null ? null : values.get(key);
    }

    @Override
    public String toString() {
        return "ClientQuotaManager[" + type + ", " + samples + " x " + windowMs + " ms" + "]";
    }

}
