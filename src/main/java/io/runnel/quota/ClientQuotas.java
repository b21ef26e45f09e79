package io.runnel.quota;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Map;
import java.util.function.Supplier;

import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.quota.ClientQuotaEntity;

/**
 * The broker's three client quota managers (produce and fetch byte rates, request time), sharing Kafka's sampling
 * settings {@code quota.window.num} and {@code quota.window.size.seconds}, and the quotas of the metadata image.
 * Connections consult them for every request (see {@code KafkaConnection}); with no quota set, that is one map read.
 *
 * <p>Threading: any thread.
 */
public final class ClientQuotas {

    /** No quotas at all (tests, and registries built without a metadata image). */
    public static final ClientQuotas NONE = new ClientQuotas(11, 1000, Map::of);

    private final ClientQuotaManager produce;
    private final ClientQuotaManager fetch;
    private final ClientQuotaManager request;
    private final long windowMs;
    private volatile ThrottleListener listener = (type, ms) -> { };

    public ClientQuotas(int samples, long windowMs, Supplier<Map<ClientQuotaEntity, Map<String, Double>>> source) {
        this.windowMs = windowMs;
        produce = new ClientQuotaManager(QuotaType.PRODUCE, samples, windowMs, source);
        fetch = new ClientQuotaManager(QuotaType.FETCH, samples, windowMs, source);
        request = new ClientQuotaManager(QuotaType.REQUEST, samples, windowMs, source);
    }

    public ClientQuotaManager produce() {
        return produce;
    }

    public ClientQuotaManager fetch() {
        return fetch;
    }

    public ClientQuotaManager request() {
        return request;
    }

    public ClientQuotaManager of(QuotaType type) {
        return switch (type) {
            case PRODUCE -> produce;
            case FETCH -> fetch;
            case REQUEST -> request;
        };
    }

    public long windowMs() {
        return windowMs;
    }

    /** Told of every throttle imposed (the metrics). */
    public interface ThrottleListener {
        void throttled(QuotaType type, int ms);
    }

    public void listener(ThrottleListener l) {
        this.listener = l;
    }

    /** Reports a throttle of {@code ms} for {@code type} to the listener. */
    public void throttled(QuotaType type, int ms) {
        listener.throttled(type, ms);
    }

    /** Forgets the rates of users / client ids idle for an hour. */
    public void expireIdle(long nowMs) {
        produce.expireIdle(nowMs);
        fetch.expireIdle(nowMs);
        request.expireIdle(nowMs);
    }

    /** Kafka's conversion of a request's thread time into the unit of request_percentage (percent of a second). */
    public static double nanosToPercentage(long nanos) {
        return nanos * 100.0 / 1_000_000_000.0;
    }

    private static final ClassValue<MethodHandle> SET_THROTTLE = new ClassValue<>() {
        @Override
        protected MethodHandle computeValue(Class<?> type) {
            try {
                return MethodHandles.publicLookup().findVirtual(type, "setThrottleTimeMs",
                        MethodType.methodType(type, int.class));
            } catch (NoSuchMethodException | IllegalAccessException e) {
                return null;
            }
        }
    };

    /**
     * Sets the response's {@code throttle_time_ms} (every response kafka-clients generates that has one names its
     * setter {@code setThrottleTimeMs}); false for a response without the field.
     */
    public static boolean setThrottleTimeMs(ApiMessage response, int ms) {
        MethodHandle h = SET_THROTTLE.get(response.getClass());
        if (h == null) {
            return false;
        }
        try {
            h.invoke(response, ms);
            return true;
        } catch (Throwable t) {
            return false;
        }
    }
}
