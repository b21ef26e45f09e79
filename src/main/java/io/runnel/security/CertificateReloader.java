package io.runnel.security;

import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.runnel.config.BrokerConfig;
import io.runnel.config.DynamicBrokerConfigs;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.config.types.Password;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replaces the certificates of this broker's TLS listeners without a restart, as Kafka's DynamicBrokerConfig does
 * for {@code listener.name.<listener>.ssl.keystore.*} and {@code ...ssl.truststore.*}: an alteration is first
 * {@link #validate}d (the new stores must load and keep the certificate's names, else INVALID_CONFIG with the
 * reason) and, once in the metadata log, {@link #apply}d. A listener reloads when its store settings differ from
 * those it serves, or when a store file was modified since it was read (Kafka re-reads a changed file on an
 * alteration that names the same path). The inter-broker listener's reload also reaches this broker's connections
 * to the other brokers (replica fetches, the bridge's and coordinators' requests): their next handshake presents
 * and checks the new stores.
 *
 * <p>Threading: both run the store reads on a worker thread (never on an event loop), one at a time
 * ({@code ordered}); the swap is one reference write seen by every event loop of the listener.
 */
public final class CertificateReloader {

    private static final Logger LOG = LoggerFactory.getLogger(CertificateReloader.class);

    private final Vertx vertx;
    private final List<ListenerSecurity> listeners = new ArrayList<>();
    private final InterBrokerSecurity interBroker;
    // what each TLS listener's stores were read from: settings and the files' modification times (guarded by this)
    private final Map<String, String> served = new HashMap<>();

    public CertificateReloader(Vertx vertx, BrokerConfig started, List<ListenerSecurity> all) {
        this(vertx, started, all, null);
    }

    /**
     * @param interBroker this broker's client side of its inter-broker listener (null: none to reload); reloaded
     *                    with that listener, as Kafka reconfigures the inter-broker clients with it
     */
    public CertificateReloader(Vertx vertx, BrokerConfig started, List<ListenerSecurity> all,
                               InterBrokerSecurity interBroker) {
        this.vertx = vertx;
        this.interBroker = interBroker != null && interBroker.usesTls() ? interBroker : null;
        for (ListenerSecurity l : all) {
            if (l.usesTls()) {
                listeners.add(l);
                served.put(l.listener().name(), fingerprint(started, l));
            }
        }
    }

    /**
     * Checks that {@code candidate} (the effective config with an alteration applied) can be served. Succeeds at
     * once when no listener's stores change.
     *
     * @return fails with InvalidConfigurationException naming the listener and the reason
     */
    public Future<Void> validate(BrokerConfig candidate) {
        return vertx.executeBlocking(() -> {
            synchronized (this) {
                for (ListenerSecurity l : listeners) {
                    if (!fingerprint(candidate, l).equals(served.get(l.listener().name()))) {
                        try {
                            l.prepareReload(candidate);
                            if (isInterBroker(l)) {
                                interBroker.prepareReload(candidate);
                            }
                        } catch (ConfigException e) {
                            throw new InvalidConfigurationException("Validation of dynamic config update of "
                                    + "SSLFactory failed: " + e.getMessage());
                        }
                    }
                }
            }
            return null;
        }, true);
    }

    /** Serves the stores {@code effective} names on every listener whose stores changed; the rest keep theirs. */
    public Future<Void> apply(BrokerConfig effective) {
        return vertx.executeBlocking(() -> {
            synchronized (this) {
                for (ListenerSecurity l : listeners) {
                    String name = l.listener().name();
                    String now = fingerprint(effective, l);
                    if (!now.equals(served.get(name))) {
                        l.reload(l.prepareReload(effective));
                        if (isInterBroker(l)) {
                            interBroker.reload(interBroker.prepareReload(effective));
                        }
                        served.put(name, now);
                        LOG.info("Listener {} serves new TLS stores ({}={})", name,
                                SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, effective.valuesWithPrefixOverride(
                                        l.listener().listenerName().configPrefix())
                                        .get(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG));
                    }
                }
            }
            return null;
        }, true);
    }

    private boolean isInterBroker(ListenerSecurity l) {
        return interBroker != null && interBroker.listenerName().equals(l.listener().listenerName());
    }

    /** The effective config of this broker with {@code nodeOverrides} as its own dynamic configs. */
    public static BrokerConfig withNodeOverrides(BrokerConfig config, Map<String, String> nodeOverrides) {
        Map<String, Object> merged = new HashMap<>(config.originals());
        merged.putAll(config.dynamicLayers().clusterDefault());
        merged.putAll(nodeOverrides);
        return new BrokerConfig(merged);
    }

    /** Whether any of {@code names} is a store setting this reloader serves. */
    public static boolean touchesStores(Iterable<String> names) {
        for (String n : names) {
            if (DynamicBrokerConfigs.isListenerSslStore(n)) {
                return true;
            }
        }
        return false;
    }

    /** A listener's store settings and the state of their files: equal strings, same stores. */
    static String fingerprint(BrokerConfig config, ListenerSecurity l) {
        ListenerName name = l.listener().listenerName();
        Map<String, Object> values = config.valuesWithPrefixOverride(name.configPrefix());
        StringBuilder sb = new StringBuilder();
        for (String key : DynamicBrokerConfigs.LISTENER_SSL_STORES.stream().sorted().toList()) {
            Object v = values.get(key);
            if (v instanceof Password p) {
                v = p.value();
            }
            sb.append(key).append('=').append(Objects.hashCode(v)).append(':').append(v == null ? 0 : v.toString().length());
            if (key.endsWith(".location") && v != null) {
                File f = new File(v.toString());
                sb.append('@').append(f.lastModified()).append('/').append(f.length());
            }
            sb.append(';');
        }
        return sb.toString();
    }
}
