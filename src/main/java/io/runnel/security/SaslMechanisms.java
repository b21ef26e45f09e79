package io.runnel.security;

import java.security.NoSuchAlgorithmException;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import javax.security.sasl.SaslServer;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.internals.BrokerSecurityConfigs;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.security.plain.internals.PlainSaslServer;
import org.apache.kafka.common.security.plain.internals.PlainServerCallbackHandler;
import org.apache.kafka.common.security.authenticator.CredentialCache;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.apache.kafka.common.security.scram.internals.ScramSaslServer;
import org.apache.kafka.common.security.scram.internals.ScramServerCallbackHandler;
import org.apache.kafka.common.security.token.delegation.internals.DelegationTokenCache;

/**
 * The SASL mechanisms of one SASL listener, all served by kafka-clients' internal SASL classes (the SCRAM
 * credential formats are also used by io.runnel.metadata.ScramCredentials and the SCRAM admin API handlers):
 * PLAIN is Kafka's own {@link PlainSaslServer} with its {@link PlainServerCallbackHandler}, which reads the users
 * from the JAAS login options {@code user_<name>="<password>"} exactly as a Kafka broker does. The JAAS text is
 * {@code listener.name.<listener>.plain.sasl.jaas.config}, else {@code sasl.jaas.config}, else the
 * {@code KafkaServer} section of the file named by {@code java.security.auth.login.config} (Kafka's order).
 * SCRAM-SHA-256 and SCRAM-SHA-512 are Kafka's own {@link ScramSaslServer} with its
 * {@link ScramServerCallbackHandler}, which looks users up in the {@link CredentialCache} that the metadata log's
 * SCRAM credentials are published into (they need no JAAS entry here: the users live in the metadata log).
 *
 * <p>Built once at start-up; {@link #newServer} is called on a connection's event loop (PLAIN compares strings
 * held in memory, SCRAM computes a few HMACs over cached keys: nothing there blocks).
 */
final class SaslMechanisms {

    private final List<String> enabled;
    private final PlainServerCallbackHandler plainUsers;
    private final Map<ScramMechanism, ScramServerCallbackHandler> scram;

    private SaslMechanisms(List<String> enabled, PlainServerCallbackHandler plainUsers,
                           Map<ScramMechanism, ScramServerCallbackHandler> scram) {
        this.enabled = enabled;
        this.plainUsers = plainUsers;
        this.scram = scram;
    }

    /**
     * @param values      the listener's resolved settings
     * @param originals   the properties as given, for the mechanism-prefixed JAAS keys no ConfigDef defines
     * @param credentials the SCRAM credentials of the metadata log, one cache per mechanism
     */
    @SuppressWarnings("unchecked")
    static SaslMechanisms of(Map<String, ?> values, Map<String, ?> originals, ListenerName listener,
                             CredentialCache credentials) {
        List<String> enabled = List.copyOf((List<String>) values.get(BrokerSecurityConfigs.SASL_ENABLED_MECHANISMS_CONFIG));
        if (enabled.isEmpty()) {
            throw new ConfigException(BrokerSecurityConfigs.SASL_ENABLED_MECHANISMS_CONFIG, enabled,
                    "listener " + listener.value() + " uses SASL and needs at least one mechanism");
        }
        Map<ScramMechanism, ScramServerCallbackHandler> scram = new EnumMap<>(ScramMechanism.class);
        for (String m : enabled) {
            ScramMechanism s = ScramMechanism.forMechanismName(m);
            if (s != null) {
                // no delegation tokens yet: a token login (tokenauth=true) finds no token and fails
                CredentialCache.Cache<ScramCredential> users = credentials.cache(m, ScramCredential.class);
                ScramServerCallbackHandler handler = new ScramServerCallbackHandler(users != null ? users
                        : credentials.createCache(m, ScramCredential.class), new DelegationTokenCache(List.of(m)));
                handler.configure(Map.of(), m, List.of());
                scram.put(s, handler);
            } else if (!m.equals(PlainSaslServer.PLAIN_MECHANISM)) {
                throw new ConfigException(BrokerSecurityConfigs.SASL_ENABLED_MECHANISMS_CONFIG, enabled,
                        "mechanism " + m + " is not served (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are); listener "
                                + listener.value());
            }
        }
        return new SaslMechanisms(enabled, enabled.contains(PlainSaslServer.PLAIN_MECHANISM)
                ? plainUsers(values, originals, listener) : null, scram);
    }

    private static PlainServerCallbackHandler plainUsers(Map<String, ?> values, Map<String, ?> originals,
                                                         ListenerName listener) {
        JaasContext context = jaas(values, originals, listener, PlainSaslServer.PLAIN_MECHANISM);
        PlainServerCallbackHandler handler = new PlainServerCallbackHandler();
        handler.configure(Map.of(), PlainSaslServer.PLAIN_MECHANISM, context.configurationEntries());
        return handler;
    }

    /**
     * The JAAS login context of {@code mechanism} on {@code listener}, as a Kafka broker reads it:
     * {@code listener.name.<listener>.<mechanism>.sasl.jaas.config}, else {@code sasl.jaas.config}, else the
     * {@code KafkaServer} section of the file named by {@code java.security.auth.login.config}. A broker's
     * server side takes its users from it, its inter-broker client its own username and password.
     */
    static JaasContext jaas(Map<String, ?> values, Map<String, ?> originals, ListenerName listener, String mechanism) {
        String jaasKey = listener.saslMechanismConfigPrefix(mechanism) + SaslConfigs.SASL_JAAS_CONFIG;
        Object jaas = originals.get(jaasKey);
        if (jaas == null) {
            jaas = values.get(SaslConfigs.SASL_JAAS_CONFIG);
        }
        try {
            // Kafka hands it the listener's settings with the listener prefix taken off: <mechanism>.sasl.jaas.config
            String unprefixed = mechanism.toLowerCase(java.util.Locale.ROOT) + "." + SaslConfigs.SASL_JAAS_CONFIG;
            return JaasContext.loadServerContext(listener, mechanism, jaas == null ? Map.of()
                    : Map.of(unprefixed, jaas instanceof Password p ? p : new Password(jaas.toString())));
        } catch (RuntimeException e) {
            throw new ConfigException(jaasKey, jaas == null ? null : "[hidden]", "listener " + listener.value()
                    + " cannot read its " + mechanism + " login: " + e.getMessage());
        }
    }

    List<String> enabled() {
        return enabled;
    }

    /** A server for one authentication exchange; null for a mechanism this listener does not accept. */
    SaslServer newServer(String mechanism) {
        if (!enabled.contains(mechanism)) {
            return null;
        }
        ScramMechanism s = ScramMechanism.forMechanismName(mechanism);
        if (s == null) {
            return new PlainSaslServer(plainUsers);
        }
        try {
            return new ScramSaslServer(s, Map.of(), scram.get(s));
        } catch (NoSuchAlgorithmException e) {
            // SHA-256 and SHA-512 are in every Java runtime
            throw new IllegalStateException(e);
        }
    }
}
