package io.runnel.security;

import java.util.Map;

import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;

import io.runnel.config.BrokerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.network.ListenerName;

/**
 * The certificate and trust of the metadata quorum's mutual TLS ({@code controller.quorum.ssl.enabled=true}): the
 * inter-broker listener's {@code ssl.keystore.*} and {@code ssl.truststore.*} (with its
 * {@code listener.name.<listener>.ssl.*} overrides, and {@code controller.quorum.ssl.*} over both), loaded by kafka-clients' own loaders as the listeners' are, so
 * JKS, PKCS12 and PEM mean what they mean to Kafka. Kafka's controllers take theirs from the controller listener;
 * Runnel's voters are its brokers, so the brokers' own certificate is the one they show each other. The TLS itself
 * is Ratis's (its gRPC transport); this only hands it the key and trust managers.
 *
 * <p>Built once at start-up, off the event loop (stores are read from disk); a bad or missing setting throws a
 * {@link ConfigException} naming the key.
 *
 * @param keyManager   this node's certificate, shown to every peer
 * @param trustManager checks every peer's certificate (both ways: mutual TLS)
 */
public record QuorumTls(KeyManager keyManager, TrustManager trustManager) {

    /** Prefix of settings that apply to the quorum's TLS only: {@code controller.quorum.ssl.*}. */
    public static final String QUORUM_PREFIX = "controller.quorum.";

    /** The quorum's TLS; null when {@code controller.quorum.ssl.enabled} is false (plaintext Raft transport). */
    public static QuorumTls from(BrokerConfig config) {
        if (!config.getBoolean(BrokerConfig.CONTROLLER_QUORUM_SSL_ENABLED)) {
            return null;
        }
        ListenerName name = config.interBrokerListener().listenerName();
        Map<String, Object> values = new java.util.HashMap<>(config.valuesWithPrefixOverride(name.configPrefix()));
        // controller.quorum.ssl.* override both (e.g. a truststore of the brokers' CA only, where the listener's
        // also trusts clients' certificates, which must not make their holders quorum members)
        Map<String, Object> quorumValues = config.valuesWithPrefixOverride(QUORUM_PREFIX);
        for (String key : config.originals().keySet()) {
            if (key.startsWith(QUORUM_PREFIX + "ssl.")) {
                String plain = key.substring(QUORUM_PREFIX.length());
                values.put(plain, quorumValues.get(plain));
            }
        }
        // server mode: a keystore is required (each member serves its Raft port with it)
        TlsSettings tls = TlsSettings.of(values, name.value() + " (for " + BrokerConfig.CONTROLLER_QUORUM_SSL_ENABLED
                + "=true)", name.configPrefix());
        if (tls.trustManagers() == null) {
            throw new ConfigException(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, null,
                    BrokerConfig.CONTROLLER_QUORUM_SSL_ENABLED + "=true needs a truststore that holds the certificates"
                            + " (or their CA) of the quorum's members: " + SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG
                            + " or " + SslConfigs.SSL_TRUSTSTORE_CERTIFICATES_CONFIG + ", optionally under "
                            + name.configPrefix() + " or " + QUORUM_PREFIX);
        }
        return of(tls.keyManagers().getKeyManagers()[0], tls.trustManagers().getTrustManagers()[0]);
    }

    public static QuorumTls of(KeyManager keyManager, TrustManager trustManager) {
        return new QuorumTls(keyManager, trustManager);
    }
}
