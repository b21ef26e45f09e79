package io.runnel.protocol;

import java.util.Collection;
import java.util.EnumMap;
import java.util.Map;

import io.runnel.api.ApiHandler;
import io.runnel.metrics.BrokerMetrics;
import org.apache.kafka.common.protocol.ApiKeys;

/** The handlers this broker serves, one per API key; ApiVersions is generated from it. */
public final class ApiRegistry {

    private final Map<ApiKeys, ApiHandler<?>> handlers = new EnumMap<>(ApiKeys.class);
    private final BrokerMetrics metrics;

    public ApiRegistry() {
        this(BrokerMetrics.noop());
    }

    /** @param metrics where connections count their requests, latencies and themselves */
    public ApiRegistry(BrokerMetrics metrics) {
        this.metrics = metrics;
    }

    private volatile io.runnel.security.AclAuthorizer authorizer;

    /** The authorizer requests are checked against (null: none, everything allowed). */
    public io.runnel.security.AclAuthorizer authorizer() {
        return authorizer;
    }

    public ApiRegistry authorizer(io.runnel.security.AclAuthorizer a) {
        this.authorizer = a;
        return this;
    }

    private volatile io.runnel.quota.ClientQuotas quotas = io.runnel.quota.ClientQuotas.NONE;

    /** The client quotas connections charge requests to and throttle by. */
    public io.runnel.quota.ClientQuotas quotas() {
        return quotas;
    }

    public ApiRegistry quotas(io.runnel.quota.ClientQuotas q) {
        this.quotas = q;
        return this;
    }

    public BrokerMetrics metrics() {
        return metrics;
    }

    public ApiRegistry register(ApiHandler<?> handler) {
        if (handlers.putIfAbsent(handler.apiKey(), handler) != null) {
            throw new IllegalStateException("two handlers for " + handler.apiKey());
        }
        return this;
    }

    public ApiHandler<?> handler(ApiKeys key) {
        return handlers.get(key);
    }

    public Collection<ApiHandler<?>> handlers() {
        return handlers.values();
    }

    /**
     * Versions a handler advertises may start below those kafka-clients can parse (Produce is listed from
     * v0 because librdkafka enables compression only then); requests below the parseable floor are
     * refused.
     */
    public static short parseableFloor(ApiKeys key) {
        return key.oldestVersion();
    }
}
