package io.runnel.security;

import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;

import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.sasl.RealmCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslException;

import io.runnel.config.BrokerConfig;
import io.runnel.config.Listener;
import io.vertx.core.net.NetClientOptions;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.security.plain.internals.PlainSaslServer;
import org.apache.kafka.common.security.scram.ScramExtensionsCallback;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.apache.kafka.common.security.scram.internals.ScramSaslClient;

/**
 * How this broker connects to another broker's inter-broker listener, as a Kafka broker does: with that listener's
 * security protocol; over TLS with the listener's {@code ssl.*} settings (its truststore checks the other broker's
 * certificate, its keystore is this broker's certificate where the other asks for one, and
 * {@code ssl.endpoint.identification.algorithm} checks the registered host name); with SASL as the username and
 * password of the listener's JAAS login for {@code sasl.mechanism.inter.broker.protocol}
 * ({@code listener.name.<listener>.<mechanism>.sasl.jaas.config}, e.g. {@code ScramLoginModule required
 * username="broker" password="broker-secret";}), through kafka-clients' own SASL clients: {@link ScramSaslClient}
 * for SCRAM, the JDK's PLAIN client (which Kafka's clients use too) for PLAIN. The other broker then sees this one
 * as {@code User:<username>}, which must be a super user or be allowed CLUSTER_ACTION on the cluster for its
 * replica fetches to be served.
 *
 * <p>Built once at start-up, off the event loop (stores are read from disk); a bad setting throws a
 * {@link ConfigException} naming the key. Immutable; {@link #newSaslClient} may be called from any thread.
 */
public final class InterBrokerSecurity {

    private final SecurityProtocol protocol;
    private final ListenerName listener;
    private final TlsSettings tls;
    private final String mechanism;
    private final String username;
    private final String password;

    private InterBrokerSecurity(SecurityProtocol protocol, ListenerName listener, TlsSettings tls, String mechanism,
                                String username, String password) {
        this.protocol = protocol;
        this.listener = listener;
        this.tls = tls;
        this.mechanism = mechanism;
        this.username = username;
        this.password = password;
    }

    /** This broker's client side of its inter-broker listener (PLAINTEXT: plain TCP, no login). */
    public static InterBrokerSecurity of(BrokerConfig config) {
        return of(config, config.interBrokerListener(), config.getString(BrokerConfig.SASL_MECHANISM_INTER_BROKER_PROTOCOL));
    }

    /**
     * The client side of {@code listener} with {@code mechanism}, logging in as the listener's JAAS login of that
     * mechanism says (also what a test uses to pose as a broker with other credentials).
     */
    public static InterBrokerSecurity of(BrokerConfig config, Listener listener, String mechanism) {
        SecurityProtocol protocol = listener.protocol();
        ListenerName name = listener.listenerName();
        Map<String, Object> values = config.valuesWithPrefixOverride(name.configPrefix());
        TlsSettings tls = protocol == SecurityProtocol.SSL || protocol == SecurityProtocol.SASL_SSL
                ? TlsSettings.forClient(values, name.value(), name.configPrefix()) : null;
        if (protocol != SecurityProtocol.SASL_PLAINTEXT && protocol != SecurityProtocol.SASL_SSL) {
            return new InterBrokerSecurity(protocol, name, tls, null, null, null);
        }
        if (!mechanism.equals(PlainSaslServer.PLAIN_MECHANISM) && ScramMechanism.forMechanismName(mechanism) == null) {
            throw new ConfigException(BrokerConfig.SASL_MECHANISM_INTER_BROKER_PROTOCOL, mechanism,
                    "brokers log in to the " + protocol + " listener " + name.value() + " with PLAIN, SCRAM-SHA-256 or"
                            + " SCRAM-SHA-512 (" + BrokerConfig.SASL_MECHANISM_INTER_BROKER_PROTOCOL + " defaults to"
                            + " GSSAPI, which is not served)");
        }
        @SuppressWarnings("unchecked")
        List<String> enabled = (List<String>) values.get(BrokerConfig.SASL_ENABLED_MECHANISMS);
        if (enabled == null || !enabled.contains(mechanism)) {
            throw new ConfigException(BrokerConfig.SASL_MECHANISM_INTER_BROKER_PROTOCOL, mechanism,
                    "is not among the mechanisms the inter-broker listener " + name.value() + " enables ("
                            + BrokerConfig.SASL_ENABLED_MECHANISMS + "=" + enabled + ")");
        }
        List<AppConfigurationEntry> entries =
                SaslMechanisms.jaasEntries(values, config.originals(), name, mechanism, false);
        String user = option(entries, "username");
        String pass = option(entries, "password");
        if (user == null || pass == null) {
            throw new ConfigException(name.saslMechanismConfigPrefix(mechanism) + BrokerConfig.SASL_JAAS_CONFIG,
                    "[hidden]", "the inter-broker listener " + name.value() + "'s " + mechanism + " login needs"
                            + " username=\"...\" and password=\"...\": brokers log in to each other with them");
        }
        return new InterBrokerSecurity(protocol, name, tls, mechanism, user, pass);
    }

    private static String option(List<AppConfigurationEntry> entries, String key) {
        for (AppConfigurationEntry e : entries) {
            Object v = e.getOptions().get(key);
            if (v != null) {
                return v.toString();
            }
        }
        return null;
    }

    public SecurityProtocol protocol() {
        return protocol;
    }

    /** The listener whose settings these are (the other brokers' listener of that name is the one connected to). */
    public ListenerName listenerName() {
        return listener;
    }

    /**
     * The client stores {@code effective} (an effective config with altered dynamic values) names for this
     * listener, checked to be able to replace the ones in use. Reads the stores from disk: never on an event loop.
     *
     * @throws ConfigException naming the key
     */
    TlsSettings prepareReload(BrokerConfig effective) {
        TlsSettings next = TlsSettings.forClient(effective.valuesWithPrefixOverride(listener.configPrefix()),
                listener.value(), listener.configPrefix());
        tls.checkClientReplacement(next, listener.value());
        return next;
    }

    /**
     * Presents and trusts {@code next}'s stores on every later connection to another broker, as Kafka reconfigures
     * its inter-broker clients' channel builders with the listener; connections already open are not touched.
     */
    void reload(TlsSettings next) {
        tls.replaceStores(next);
    }

    TlsSettings tls() {
        return tls;
    }

    public boolean usesTls() {
        return tls != null;
    }

    /** Whether connections check the other broker's certificate against its registered host name. */
    public boolean verifiesHostname() {
        return tls != null && tls.verifiesHostname();
    }

    /** Adds TLS to a client's options (nothing without TLS); returns them. */
    public NetClientOptions applyTo(NetClientOptions options) {
        if (tls != null) {
            tls.applyTo(options);
        }
        return options;
    }

    /** The SASL mechanism brokers log in with; null without SASL. */
    public String mechanism() {
        return mechanism;
    }

    /** The principal name brokers log in as; null without SASL. */
    public String username() {
        return username;
    }

    /**
     * A new SASL client for one login to the broker at {@code host}; null without SASL. Its SCRAM steps compute
     * the salted password (thousands of HMACs): evaluate them off the event loop.
     */
    public SaslClient newSaslClient(String host) throws SaslException {
        if (mechanism == null) {
            return null;
        }
        CallbackHandler credentials = this::answer;
        ScramMechanism scram = ScramMechanism.forMechanismName(mechanism);
        if (scram != null) {
            try {
                return new ScramSaslClient(scram, credentials);
            } catch (NoSuchAlgorithmException e) {
                throw new SaslException(mechanism + " is not available in this Java runtime", e);
            }
        }
        SaslClient plain = Sasl.createSaslClient(new String[] {mechanism}, null, "kafka", host, Map.of(), credentials);
        if (plain == null) {
            throw new SaslException("the Java runtime has no " + mechanism + " SASL client");
        }
        return plain;
    }

    private void answer(Callback[] callbacks) throws UnsupportedCallbackException {
        for (Callback c : callbacks) {
            if (c instanceof NameCallback n) {
                n.setName(username);
            } else if (c instanceof PasswordCallback p) {
                p.setPassword(password.toCharArray());
            } else if (c instanceof RealmCallback r) {
                r.setText(r.getDefaultText());
            } else if (!(c instanceof ScramExtensionsCallback)) {
                throw new UnsupportedCallbackException(c);
            }
        }
    }
}
