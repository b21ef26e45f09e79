package io.runnel.security;

import java.net.InetAddress;
import java.util.Map;

import javax.net.ssl.SSLSession;

import io.runnel.config.BrokerConfig;
import io.runnel.config.Listener;
import io.vertx.core.net.NetServerOptions;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.authenticator.CredentialCache;
import org.apache.kafka.common.security.auth.PlaintextAuthenticationContext;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.security.auth.SslAuthenticationContext;
import org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder;
import org.apache.kafka.common.security.ssl.SslPrincipalMapper;

/**
 * How one listener secures its connections, from Kafka's settings: TLS for SSL and SASL_SSL, SASL for
 * SASL_PLAINTEXT and SASL_SSL. Each setting is read as Kafka reads it, {@code listener.name.<listener>.<key>}
 * before {@code <key>}. Principals come from kafka-clients' {@link DefaultKafkaPrincipalBuilder}: {@code User:ANONYMOUS}
 * on PLAINTEXT, {@code User:<certificate subject after ssl.principal.mapping.rules>} on SSL, {@code User:<name>} after
 * SASL.
 *
 * <p>Built once at start-up, off the event loop (key stores are read from disk, an OAuth JWKS fetched): a bad
 * setting throws a ConfigException naming the key. Immutable but for the TLS stores, which
 * {@link CertificateReloader} replaces at run time; shared by the listener's instances; {@link #close}d
 * with the broker (it stops the JWKS refresh thread of an OAUTHBEARER listener).
 */
public final class ListenerSecurity implements AutoCloseable {

    private final Listener listener;
    private final TlsSettings tls;
    private final SaslMechanisms sasl;
    private final DefaultKafkaPrincipalBuilder principals;
    private final int maxReceiveBeforeAuth;
    private final int failedAuthenticationDelayMs;

    private ListenerSecurity(Listener listener, TlsSettings tls, SaslMechanisms sasl,
                             DefaultKafkaPrincipalBuilder principals, int maxReceiveBeforeAuth, int failedDelayMs) {
        this.listener = listener;
        this.tls = tls;
        this.sasl = sasl;
        this.principals = principals;
        this.maxReceiveBeforeAuth = maxReceiveBeforeAuth;
        this.failedAuthenticationDelayMs = failedDelayMs;
    }

    /** A listener whose SCRAM users (if it enables SCRAM) are those of a cache of its own, empty. */
    public static ListenerSecurity of(BrokerConfig config, Listener listener) {
        return of(config, listener, new CredentialCache());
    }

    /** @param scramCredentials the users SCRAM logins are checked against (the metadata log's) */
    public static ListenerSecurity of(BrokerConfig config, Listener listener, CredentialCache scramCredentials) {
        ListenerName name = listener.listenerName();
        Map<String, Object> values;
        try {
            values = config.valuesWithPrefixOverride(name.configPrefix());
        } catch (org.apache.kafka.common.config.ConfigException e) {
            // kafka-clients names the key without the listener's (and mechanism's) prefix: say which listener
            throw new org.apache.kafka.common.config.ConfigException("Listener " + name.value() + ", a "
                    + name.configPrefix() + "* setting: " + e.getMessage());
        }
        SecurityProtocol protocol = listener.protocol();
        TlsSettings tls = protocol == SecurityProtocol.SSL || protocol == SecurityProtocol.SASL_SSL
                ? TlsSettings.of(values, name.value(), name.configPrefix()) : null;
        SaslMechanisms sasl = protocol == SecurityProtocol.SASL_PLAINTEXT || protocol == SecurityProtocol.SASL_SSL
                ? SaslMechanisms.of(values, config.originals(), name, scramCredentials) : null;
        SslPrincipalMapper mapper;
        try {
            mapper = SslPrincipalMapper.fromRules((String) values.get(BrokerConfig.SSL_PRINCIPAL_MAPPING_RULES));
        } catch (RuntimeException e) {
            throw new org.apache.kafka.common.config.ConfigException(BrokerConfig.SSL_PRINCIPAL_MAPPING_RULES,
                    values.get(BrokerConfig.SSL_PRINCIPAL_MAPPING_RULES), e.getMessage());
        }
        return new ListenerSecurity(listener, tls, sasl, new DefaultKafkaPrincipalBuilder(null, mapper),
                (Integer) values.get(BrokerConfig.SASL_SERVER_MAX_RECEIVE_SIZE),
                (Integer) values.get(BrokerConfig.CONNECTION_FAILED_AUTHENTICATION_DELAY_MS));
    }

    public Listener listener() {
        return listener;
    }

    public SecurityProtocol protocol() {
        return listener.protocol();
    }

    public boolean usesTls() {
        return tls != null;
    }

    /**
     * The listener's TLS settings as {@code candidate} (an effective config with altered dynamic values) makes
     * them, checked to be able to replace the ones served now. Reads the stores from disk: never on an event loop.
     *
     * @throws org.apache.kafka.common.config.ConfigException naming the key when they cannot be loaded or may not
     *         replace the current ones (another distinguished name, other subject alternative names)
     */
    TlsSettings prepareReload(BrokerConfig candidate) {
        ListenerName name = listener.listenerName();
        Map<String, Object> values = candidate.valuesWithPrefixOverride(name.configPrefix());
        TlsSettings next = TlsSettings.of(values, name.value(), name.configPrefix());
        tls.checkReplacement(next, Boolean.TRUE.equals(values.get(
                        org.apache.kafka.common.config.internals.BrokerSecurityConfigs.SSL_ALLOW_DN_CHANGES_CONFIG)),
                Boolean.TRUE.equals(values.get(
                        org.apache.kafka.common.config.internals.BrokerSecurityConfigs.SSL_ALLOW_SAN_CHANGES_CONFIG)),
                name.value());
        return next;
    }

    /** Serves {@code next}'s stores on every later handshake of this listener (all its event loops at once). */
    void reload(TlsSettings next) {
        tls.replaceStores(next);
    }

    TlsSettings tls() {
        return tls;
    }

    /** Adds TLS to a listener's server options (nothing for PLAINTEXT and SASL_PLAINTEXT). */
    public NetServerOptions applyTo(NetServerOptions options) {
        if (tls != null) {
            tls.applyTo(options);
        }
        return options;
    }

    /**
     * The authentication state of a new connection on this listener: complete at once without SASL, with the
     * principal of its TLS session (if any); waiting for the SASL handshake otherwise.
     *
     * @param session the connection's TLS session, after the handshake (null without TLS)
     */
    public Authentication newConnection(SSLSession session, InetAddress client) {
        if (sasl != null) {
            return Authentication.sasl(this, session, client);
        }
        KafkaPrincipal principal = session != null
                ? principals.build(new SslAuthenticationContext(session, client, listener.name()))
                : principals.build(new PlaintextAuthenticationContext(client, listener.name()));
        return Authentication.complete(listener.name(), principal);
    }

    SaslMechanisms sasl() {
        return sasl;
    }

    DefaultKafkaPrincipalBuilder principals() {
        return principals;
    }

    int maxReceiveBeforeAuth() {
        return maxReceiveBeforeAuth;
    }

    /** connection.failed.authentication.delay.ms: how long a refused authentication's answer waits. */
    public int failedAuthenticationDelayMs() {
        return failedAuthenticationDelayMs;
    }

    @Override
    public void close() {
        if (sasl != null) {
            sasl.close();
        }
    }
}
