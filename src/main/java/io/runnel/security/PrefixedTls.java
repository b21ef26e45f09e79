package io.runnel.security;

import io.runnel.config.BrokerConfig;
import io.vertx.core.net.NetServerOptions;
import org.apache.kafka.common.config.ConfigException;

/**
 * The TLS of a server that is not a Kafka listener (the admin API, the event-bus bridges): Kafka's {@code ssl.*}
 * settings under a prefix (e.g. {@code admin.ssl.keystore.location}, {@code bridge.ssl.keystore.location}), which
 * override the plain {@code ssl.*} ones, loaded as for a TLS listener ({@link TlsSettings}). TLS is on when any
 * {@code <prefix>ssl.*} setting is given.
 *
 * <p>Built once at start-up, off the event loop: a bad value throws a ConfigException naming the key. Immutable.
 */
public final class PrefixedTls {

    private final TlsSettings tls;

    private PrefixedTls(TlsSettings tls) {
        this.tls = tls;
    }

    /**
     * @param prefix e.g. {@code "bridge."}
     * @param name   what serves it, for error messages
     * @return null when no {@code <prefix>ssl.*} setting is given (no TLS)
     */
    public static PrefixedTls of(BrokerConfig config, String prefix, String name) {
        boolean on = config.originals().keySet().stream().anyMatch(k -> k.startsWith(prefix + "ssl."));
        if (!on) {
            return null;
        }
        java.util.Map<String, Object> values;
        try {
            values = config.valuesWithPrefixOverride(prefix);
        } catch (ConfigException e) {
            throw new ConfigException("the " + name + " server, a " + prefix + "ssl.* setting: " + e.getMessage());
        }
        return new PrefixedTls(TlsSettings.of(values, name, prefix));
    }

    /** Turns TLS on in a server's options. */
    public <T extends NetServerOptions> T applyTo(T options) {
        tls.applyTo(options);
        return options;
    }
}
