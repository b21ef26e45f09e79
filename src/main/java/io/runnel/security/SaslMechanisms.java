package io.runnel.security;

import java.security.NoSuchAlgorithmException;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import javax.security.auth.login.AppConfigurationEntry;
import javax.security.sasl.SaslServer;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.internals.BrokerSecurityConfigs;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule;
import org.apache.kafka.common.security.oauthbearer.internals.OAuthBearerSaslServer;
import org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler;
import org.apache.kafka.common.security.plain.internals.PlainSaslServer;
import org.apache.kafka.common.security.plain.internals.PlainServerCallbackHandler;
import org.apache.kafka.common.security.authenticator.CredentialCache;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.apache.kafka.common.security.scram.internals.ScramSaslServer;
import org.apache.kafka.common.security.scram.internals.ScramServerCallbackHandler;
import org.apache.kafka.common.security.token.delegation.internals.DelegationTokenCache;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * OAUTHBEARER is Kafka's own {@link OAuthBearerSaslServer} with the callback handler a Kafka broker is given in
 * {@code listener.name.<listener>.oauthbearer.sasl.server.callback.handler.class}: for signed JWTs
 * {@code org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler}, which checks the
 * signature against the keys of {@code sasl.oauthbearer.jwks.endpoint.url} (fetched at start-up, then refreshed
 * every {@code sasl.oauthbearer.jwks.endpoint.refresh.ms} on a thread of its own) and the expiry, audience and
 * issuer claims; the principal is the {@code sasl.oauthbearer.sub.claim.name} claim. Kafka 4 refuses a JWKS URL
 * the system property {@code org.apache.kafka.sasl.oauthbearer.allowed.urls} does not list, and so does this.
 * Without that setting Kafka's default is its unsecured validator (unsigned tokens, for development), as here.
 * Each mechanism's session lifetime ({@code connections.max.reauth.ms}, KIP-368) is read as Kafka reads it
 * (a bad value stops start-up with kafka-clients' own message, the listener named):
 * {@code listener.name.<listener>.<mechanism>.connections.max.reauth.ms} before the listener's setting.
 *
 * <p>Built once at start-up (off the event loop: the JWKS is fetched here); {@link #newServer} is called on a
 * connection's event loop (PLAIN compares strings held in memory, SCRAM computes a few HMACs over cached keys,
 * OAUTHBEARER verifies one signature with a cached key: nothing there blocks). {@link #close} stops the JWKS refresh.
 */
final class SaslMechanisms implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SaslMechanisms.class);
    static final String OAUTHBEARER = OAuthBearerLoginModule.OAUTHBEARER_MECHANISM;
    static final String SERVER_CALLBACK_HANDLER_CLASS = BrokerSecurityConfigs.SASL_SERVER_CALLBACK_HANDLER_CLASS_CONFIG;

    private final List<String> enabled;
    private final PlainServerCallbackHandler plainUsers;
    private final Map<ScramMechanism, ScramServerCallbackHandler> scram;
    private final AuthenticateCallbackHandler oauth;
    private final Map<String, Long> maxReauthMs;

    private SaslMechanisms(List<String> enabled, PlainServerCallbackHandler plainUsers,
                           Map<ScramMechanism, ScramServerCallbackHandler> scram, AuthenticateCallbackHandler oauth,
                           Map<String, Long> maxReauthMs) {
        this.enabled = enabled;
        this.plainUsers = plainUsers;
        this.scram = scram;
        this.oauth = oauth;
        this.maxReauthMs = maxReauthMs;
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
            } else if (!m.equals(PlainSaslServer.PLAIN_MECHANISM) && !m.equals(OAUTHBEARER)) {
                throw new ConfigException(BrokerSecurityConfigs.SASL_ENABLED_MECHANISMS_CONFIG, enabled,
                        "mechanism " + m + " is not served (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER"
                                + " are); listener " + listener.value());
            }
        }
        Map<String, Long> maxReauthMs = new HashMap<>();
        for (String m : enabled) {
            String key = listener.saslMechanismConfigPrefix(m) + BrokerSecurityConfigs.CONNECTIONS_MAX_REAUTH_MS_CONFIG;
            // valuesWithPrefixOverride has parsed listener.name.<l>.<mechanism>.<key> as <mechanism>.<key>
            Object v = values.get(m.toLowerCase(Locale.ROOT) + "." + BrokerSecurityConfigs.CONNECTIONS_MAX_REAUTH_MS_CONFIG);
            long ms = ((Number) (v != null ? v : values.get(BrokerSecurityConfigs.CONNECTIONS_MAX_REAUTH_MS_CONFIG)))
                    .longValue();
            if (ms < 0) {
                throw new ConfigException(key, v, "must be 0 (no limit) or more");
            }
            maxReauthMs.put(m, ms);
        }
        PlainServerCallbackHandler plain = enabled.contains(PlainSaslServer.PLAIN_MECHANISM)
                ? plainUsers(values, originals, listener) : null;
        AuthenticateCallbackHandler oauth = enabled.contains(OAUTHBEARER) ? oauth(values, originals, listener) : null;
        return new SaslMechanisms(enabled, plain, scram, oauth, Map.copyOf(maxReauthMs));
    }

    /**
     * OAUTHBEARER's validator, configured as Kafka's SaslChannelBuilder configures it: the listener's settings
     * ({@code listener.name.<listener>.} taken off), those given as {@code listener.name.<listener>.oauthbearer.<key>}
     * under {@code oauthbearer.<key>} (where kafka-clients' ConfigurationUtils looks first), and the mechanism's
     * JAAS entries (a bare {@code OAuthBearerLoginModule required;} when none is given: the signed-JWT validator
     * needs no options).
     */
    private static AuthenticateCallbackHandler oauth(Map<String, ?> values, Map<String, ?> originals,
                                                     ListenerName listener) {
        String mechanismPrefix = listener.saslMechanismConfigPrefix(OAUTHBEARER);
        String classKey = mechanismPrefix + SERVER_CALLBACK_HANDLER_CLASS;
        // valuesWithPrefixOverride has already put the defined ones, parsed; the others go as given
        Map<String, Object> configs = new HashMap<>(values);
        String shortPrefix = OAUTHBEARER.toLowerCase(Locale.ROOT) + ".";
        for (Map.Entry<String, ?> e : originals.entrySet()) {
            if (e.getKey().startsWith(mechanismPrefix) && e.getKey().length() > mechanismPrefix.length()) {
                configs.putIfAbsent(shortPrefix + e.getKey().substring(mechanismPrefix.length()), e.getValue());
            }
        }
        Object handlerClass = originals.get(classKey);
        AuthenticateCallbackHandler handler;
        try {
            handler = handlerClass == null ? new OAuthBearerUnsecuredValidatorCallbackHandler()
                    : Utils.newInstance(handlerClass.toString().trim(), AuthenticateCallbackHandler.class);
        } catch (ClassNotFoundException | RuntimeException e) {
            throw new ConfigException(classKey, handlerClass, "cannot make an OAUTHBEARER validator: " + e);
        }
        if (handlerClass == null) {
            LOG.warn("Listener {} accepts OAUTHBEARER tokens without a signature check (Kafka's unsecured default):"
                    + " set {} to org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
                    + " and sasl.oauthbearer.jwks.endpoint.url to check signed JWTs", listener.value(), classKey);
        }
        List<AppConfigurationEntry> jaas = jaasEntries(values, originals, listener, OAUTHBEARER, true);
        try {
            handler.configure(configs, OAUTHBEARER, jaas);
        } catch (RuntimeException e) {
            closeQuietly(handler);
            // name the sasl.oauthbearer.* key kafka-clients complains about, else the handler class setting
            // (kafka-clients quotes the one it wants set: "sasl.oauthbearer.expected.issuer")
            String message = String.valueOf(e.getMessage());
            java.util.regex.Matcher quoted = java.util.regex.Pattern.compile("\"(sasl\\.oauthbearer\\.[a-z.]*[a-z])\"")
                    .matcher(message);
            java.util.regex.Matcher named = java.util.regex.Pattern.compile("sasl\\.oauthbearer\\.[a-z.]*[a-z]")
                    .matcher(message);
            String key = quoted.find() ? quoted.group(1) : named.find() ? named.group() : classKey;
            Object value = key.equals(classKey) ? handlerClass : configs.get(key);
            throw new ConfigException(key, value, "listener " + listener.value()
                    + " cannot validate OAUTHBEARER tokens: " + e.getMessage()
                    + (e.getMessage() != null && e.getMessage().contains("allowed")
                            ? " (list the URL in the JVM system property org.apache.kafka.sasl.oauthbearer.allowed.urls)"
                            : ""));
        }
        return handler;
    }

    private static PlainServerCallbackHandler plainUsers(Map<String, ?> values, Map<String, ?> originals,
                                                         ListenerName listener) {
        PlainServerCallbackHandler handler = new PlainServerCallbackHandler();
        handler.configure(Map.of(), PlainSaslServer.PLAIN_MECHANISM,
                jaasEntries(values, originals, listener, PlainSaslServer.PLAIN_MECHANISM, false));
        return handler;
    }

    /**
     * A mechanism's JAAS entries, from the first of {@code listener.name.<listener>.<mechanism>.sasl.jaas.config},
     * {@code sasl.jaas.config} and the JAAS file. With {@code optional}, none found gives a bare
     * OAuthBearerLoginModule entry instead of an error.
     */
    static List<AppConfigurationEntry> jaasEntries(Map<String, ?> values, Map<String, ?> originals,
                                                           ListenerName listener, String mechanism, boolean optional) {
        String jaasKey = listener.saslMechanismConfigPrefix(mechanism) + SaslConfigs.SASL_JAAS_CONFIG;
        Object jaas = originals.get(jaasKey);
        if (jaas == null) {
            jaas = values.get(SaslConfigs.SASL_JAAS_CONFIG);
        }
        try {
            // Kafka hands it the listener's settings with the listener prefix taken off: <mechanism>.sasl.jaas.config
            String unprefixed = mechanism.toLowerCase(Locale.ROOT) + "." + SaslConfigs.SASL_JAAS_CONFIG;
            return JaasContext.loadServerContext(listener, mechanism, jaas == null ? Map.of()
                    : Map.of(unprefixed, jaas instanceof Password p ? p : new Password(jaas.toString())))
                    .configurationEntries();
        } catch (RuntimeException e) {
            if (optional && jaas == null) {
                return List.of(new AppConfigurationEntry(OAuthBearerLoginModule.class.getName(),
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, Map.of()));
            }
            throw new ConfigException(jaasKey, jaas == null ? null : "[hidden]", "listener " + listener.value()
                    + " cannot read its " + mechanism + " JAAS login context: " + e.getMessage());
        }
    }

    List<String> enabled() {
        return enabled;
    }

    /** connections.max.reauth.ms of a mechanism: the longest session before re-authentication, 0 for no limit. */
    long maxReauthMs(String mechanism) {
        return maxReauthMs.getOrDefault(mechanism, 0L);
    }

    /** A server for one authentication exchange; null for a mechanism this listener does not accept. */
    SaslServer newServer(String mechanism) {
        if (!enabled.contains(mechanism)) {
            return null;
        }
        if (mechanism.equals(OAUTHBEARER)) {
            return new OAuthBearerSaslServer(oauth);
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

    /**
     * The principal name of {@code jwt} if this listener's OAUTHBEARER validator accepts it, else null (none without
     * OAUTHBEARER). Blocking: the signature is checked (against the JWKS the validator keeps fetched).
     */
    String validateBearer(String jwt) {
        if (oauth == null) {
            return null;
        }
        org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallback cb =
                new org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallback(jwt);
        try {
            oauth.handle(new javax.security.auth.callback.Callback[] {cb});
        } catch (Exception e) {
            return null;
        }
        return cb.token() == null ? null : cb.token().principalName();
    }

    /** Stops the OAUTHBEARER validator's JWKS refresh thread, if any. */
    @Override
    public void close() {
        if (oauth != null) {
            closeQuietly(oauth);
        }
    }

    private static void closeQuietly(AuthenticateCallbackHandler handler) {
        try {
            handler.close();
        } catch (RuntimeException e) {
            LOG.warn("Closing the OAUTHBEARER validator failed", e);
        }
    }
}
