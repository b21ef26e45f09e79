package io.runnel.security;

import java.security.KeyStore;
import java.security.Principal;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;

import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.TrustOptions;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.config.internals.BrokerSecurityConfigs;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.security.ssl.DefaultSslEngineFactory;

/**
 * The TLS side of one SSL or SASL_SSL listener, from Kafka's {@code ssl.*} settings (already resolved with the
 * listener's {@code listener.name.<listener>.ssl.*} overrides). The key and trust stores are loaded by kafka-clients'
 * own {@link DefaultSslEngineFactory}, so JKS, PKCS12 and PEM (files, or {@code ssl.keystore.key} /
 * {@code ssl.keystore.certificate.chain} / {@code ssl.truststore.certificates} strings, encrypted keys included)
 * mean exactly what they mean to Kafka; the TLS itself is Vert.x's (Netty's SslHandler on the JDK engine).
 *
 * <p>Built off the event loop (the stores are read from disk); a bad value throws a {@link ConfigException} naming
 * the key. A server side's stores can be replaced while it serves ({@link #checkReplacement}, {@link #replaceStores}):
 * the SSL context is built over {@link SwappableManagers}, so later handshakes use the new stores and open
 * connections keep theirs. Any thread.
 */
final class TlsSettings {

    private final KeyManagerFactory keyManagers;
    private final TrustManagerFactory trustManagers;
    private final ClientAuth clientAuth;
    private final List<String> protocols;
    private final List<String> cipherSuites;
    // ssl.endpoint.identification.algorithm: how a client side checks the server's name ("" for not at all)
    private final String endpointIdentification;
    // the key entries' certificates: what a replacement keystore must keep (Kafka's SslFactory.CertificateEntries)
    private final List<CertificateEntry> certificates;
    // what a server's SSL context delegates to (null on a client side)
    private final SwappableManagers managers;

    /** One key entry's certificate: its subject and its subject alternative names. */
    record CertificateEntry(String alias, Principal subject, Set<List<?>> subjectAltNames) {
    }

    private TlsSettings(KeyManagerFactory keyManagers, TrustManagerFactory trustManagers, ClientAuth clientAuth,
                        List<String> protocols, List<String> cipherSuites, String endpointIdentification,
                        List<CertificateEntry> certificates, boolean server) {
        this.keyManagers = keyManagers;
        this.trustManagers = trustManagers;
        this.certificates = certificates;
        this.managers = new SwappableManagers(SwappableManagers.Stores.of(keyManagers, trustManagers));
        this.clientAuth = clientAuth;
        this.protocols = protocols;
        this.cipherSuites = cipherSuites;
        this.endpointIdentification = endpointIdentification;
    }

    /**
     * @param values the listener's resolved settings (typed as Kafka's ConfigDef parses them)
     * @param prefix the listener's prefix ({@code listener.name.<listener>.}), for error messages
     */
    static TlsSettings of(Map<String, ?> values, String listenerName, String prefix) {
        return of(values, listenerName, prefix, true);
    }

    /**
     * The client side of a listener's TLS, as a broker connects to another broker's listener of that name: the
     * same stores (the keystore, if any, is this broker's certificate for listeners that ask for one; the
     * truststore checks the other broker's, the JDK's default trust without one) and
     * {@code ssl.endpoint.identification.algorithm} (Kafka's default {@code https} checks the certificate
     * against the name or address the broker registered).
     */
    static TlsSettings forClient(Map<String, ?> values, String listenerName, String prefix) {
        return of(values, listenerName, prefix, false);
    }

    @SuppressWarnings("unchecked")
    private static TlsSettings of(Map<String, ?> values, String listenerName, String prefix, boolean server) {
        Map<String, Object> ssl = new HashMap<>();
        values.forEach((k, v) -> {
            if (k.startsWith("ssl.")) {
                ssl.put(k, v);
            }
        });
        DefaultSslEngineFactory factory = new DefaultSslEngineFactory();
        try {
            factory.configure(ssl);
        } catch (RuntimeException e) {
            String key = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("truststore")
                    || String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("trust store")
                    ? SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG : SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG;
            throw new ConfigException(key, ssl.get(key), "listener " + listenerName + ": " + rootMessage(e)
                    + " (settings " + prefix + "ssl.* override ssl.*)");
        }
        KeyStore keystore = factory.keystore();
        if (keystore == null && server) {
            throw new ConfigException(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, null, "listener " + listenerName
                    + " serves TLS and needs a keystore (" + SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG + ", or "
                    + SslConfigs.SSL_KEYSTORE_KEY_CONFIG + " and " + SslConfigs.SSL_KEYSTORE_CERTIFICATE_CHAIN_CONFIG
                    + " with " + SslConfigs.SSL_KEYSTORE_TYPE_CONFIG + "=PEM, optionally under " + prefix + ")");
        }
        KeyManagerFactory kmf = keystore == null ? null : keyManagers(keystore, (Password) ssl.get(SslConfigs.SSL_KEY_PASSWORD_CONFIG),
                (Password) ssl.get(SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG), listenerName);
        TrustManagerFactory tmf = null;
        KeyStore truststore = factory.truststore();
        if (truststore != null) {
            try {
                tmf = TrustManagerFactory.getInstance((String) ssl.get(SslConfigs.SSL_TRUSTMANAGER_ALGORITHM_CONFIG));
                tmf.init(truststore);
            } catch (Exception e) {
                throw new ConfigException(SslConfigs.SSL_TRUSTMANAGER_ALGORITHM_CONFIG,
                        ssl.get(SslConfigs.SSL_TRUSTMANAGER_ALGORITHM_CONFIG), "listener " + listenerName + ": " + e);
            }
        }
        factory.close();
        String auth = String.valueOf(values.get(BrokerSecurityConfigs.SSL_CLIENT_AUTH_CONFIG));
        ClientAuth clientAuth = switch (auth) {
            case "required" -> ClientAuth.REQUIRED;
            case "requested" -> ClientAuth.REQUEST;
            default -> ClientAuth.NONE;
        };
        if (server && clientAuth != ClientAuth.NONE && tmf == null) {
            throw new ConfigException(BrokerSecurityConfigs.SSL_CLIENT_AUTH_CONFIG, auth, "listener " + listenerName
                    + " asks clients for certificates but has no truststore to check them ("
                    + SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG + ")");
        }
        List<String> protocols = (List<String>) ssl.get(SslConfigs.SSL_ENABLED_PROTOCOLS_CONFIG);
        List<String> ciphers = (List<String>) ssl.get(SslConfigs.SSL_CIPHER_SUITES_CONFIG);
        Object identification = values.get(SslConfigs.SSL_ENDPOINT_IDENTIFICATION_ALGORITHM_CONFIG);
        return new TlsSettings(kmf, tmf, clientAuth, protocols == null ? List.of() : new ArrayList<>(protocols),
                ciphers == null ? List.of() : new ArrayList<>(ciphers),
                identification == null ? "" : identification.toString().trim(), certificateEntries(keystore, listenerName),
                server);
    }

    private static List<CertificateEntry> certificateEntries(KeyStore keystore, String listenerName) {
        List<CertificateEntry> out = new ArrayList<>();
        if (keystore == null) {
            return out;
        }
        try {
            for (String alias : Collections.list(keystore.aliases())) {
                if (keystore.isKeyEntry(alias) && keystore.getCertificate(alias) instanceof X509Certificate c) {
                    Collection<List<?>> sans = c.getSubjectAlternativeNames();
                    out.add(new CertificateEntry(alias, c.getSubjectX500Principal(),
                            sans == null ? Set.of() : new HashSet<>(sans)));
                }
            }
        } catch (Exception e) {
            throw new ConfigException(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, null, "listener " + listenerName
                    + ": cannot read the keystore's certificates (" + e + ")");
        }
        return out;
    }

    /**
     * Checks that {@code next} (built from the listener's settings as altered) may replace this server side's
     * stores, as Kafka's SslFactory checks a reconfiguration: the keystore's certificates keep their distinguished
     * names unless {@code ssl.allow.dn.changes}, their subject alternative names unless {@code ssl.allow.san.changes};
     * a listener without a truststore cannot gain one (its SSL context asks no client for a certificate).
     *
     * @throws ConfigException naming the key, with the old and new values
     */
    void checkReplacement(TlsSettings next, boolean allowDnChanges, boolean allowSanChanges, String listenerName) {
        if ((trustManagers == null) != (next.trustManagers == null)) {
            throw new ConfigException(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, null, "listener " + listenerName
                    + ": a truststore cannot be " + (trustManagers == null ? "added" : "removed")
                    + " without a restart");
        }
        if (!allowDnChanges) {
            List<Principal> before = certificates.stream().map(CertificateEntry::subject).toList();
            List<Principal> after = next.certificates.stream().map(CertificateEntry::subject).toList();
            if (!before.equals(after)) {
                throw new ConfigException(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, null, "listener " + listenerName
                        + ": Keystore DistinguishedName does not match: existing=" + before + ", new=" + after
                        + " (" + BrokerSecurityConfigs.SSL_ALLOW_DN_CHANGES_CONFIG + "=true allows it)");
            }
        }
        if (!allowSanChanges) {
            List<Set<List<?>>> before = certificates.stream().map(CertificateEntry::subjectAltNames).toList();
            List<Set<List<?>>> after = next.certificates.stream().map(CertificateEntry::subjectAltNames).toList();
            if (!before.equals(after)) {
                throw new ConfigException(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, null, "listener " + listenerName
                        + ": Keystore SubjectAltNames do not match: existing=" + before + ", new=" + after
                        + " (" + BrokerSecurityConfigs.SSL_ALLOW_SAN_CHANGES_CONFIG + "=true allows it)");
            }
        }
    }

    /**
     * Checks that {@code next} may replace this client side's stores: a keystore or truststore can be replaced but
     * not added or removed without a restart (the connections' SSL context is built with or without one).
     *
     * @throws ConfigException naming the key
     */
    void checkClientReplacement(TlsSettings next, String listenerName) {
        if ((keyManagers == null) != (next.keyManagers == null)) {
            throw new ConfigException(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, null, "listener " + listenerName
                    + ": the keystore brokers present to each other cannot be "
                    + (keyManagers == null ? "added" : "removed") + " without a restart");
        }
        if ((trustManagers == null) != (next.trustManagers == null)) {
            throw new ConfigException(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, null, "listener " + listenerName
                    + ": the truststore that checks other brokers cannot be "
                    + (trustManagers == null ? "added" : "removed") + " without a restart");
        }
    }

    /** Makes every later handshake of this side (server or client) use {@code next}'s key and trust stores, at once. */
    void replaceStores(TlsSettings next) {
        managers.swap(next.managers.current());
    }

    /** The key manager every handshake of this side asks now (tests). */
    javax.net.ssl.X509ExtendedKeyManager currentKeyManager() {
        return managers.keyManager();
    }

    /** The key entries' certificates of the keystore this side serves now (tests, logs). */
    List<CertificateEntry> certificates() {
        return certificates;
    }

    /**
     * Kafka protects the key with ssl.key.password, else with the keystore's password (a PEM key loaded without a
     * password gets the store's own): the first of those that opens every key is the one.
     */
    private static KeyManagerFactory keyManagers(KeyStore keystore, Password keyPassword, Password storePassword,
                                                 String listenerName) {
        List<char[]> candidates = new ArrayList<>();
        if (keyPassword != null) {
            candidates.add(keyPassword.value().toCharArray());
        }
        if (storePassword != null) {
            candidates.add(storePassword.value().toCharArray());
        }
        candidates.add(new char[0]);
        Exception last = null;
        for (char[] pw : candidates) {
            try {
                for (String alias : Collections.list(keystore.aliases())) {
                    if (keystore.isKeyEntry(alias)) {
                        keystore.getKey(alias, pw);
                    }
                }
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keystore, pw);
                return kmf;
            } catch (Exception e) {
                last = e;
            }
        }
        throw new ConfigException(SslConfigs.SSL_KEY_PASSWORD_CONFIG, null, "listener " + listenerName
                + ": the keystore's private key cannot be opened with " + SslConfigs.SSL_KEY_PASSWORD_CONFIG + " or "
                + SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG + " (" + last + ")");
    }

    /** Turns TLS on in {@code options}, with these stores, client authentication, protocols and cipher suites. */
    void applyTo(NetServerOptions options) {
        options.setSsl(true)
                .setKeyCertOptions(KeyCertOptions.wrap(managers.keyManager()))
                .setClientAuth(clientAuth);
        if (trustManagers != null) {
            options.setTrustOptions(TrustOptions.wrap(managers.trustManager()));
        }
        if (!protocols.isEmpty()) {
            options.setEnabledSecureTransportProtocols(new LinkedHashSet<>(protocols));
        }
        for (String suite : cipherSuites) {
            options.addEnabledCipherSuite(suite);
        }
    }

    /**
     * Turns TLS on in a client's {@code options}: this broker's certificate (if it has a keystore) for servers that
     * ask for one, the trust store (else the JDK's default trust), protocols, cipher suites and the host name check.
     */
    void applyTo(NetClientOptions options) {
        options.setSsl(true).setHostnameVerificationAlgorithm(endpointIdentification.toUpperCase(java.util.Locale.ROOT));
        // the swappable views, as a server's: a reload of the listener's stores reaches the next connection
        if (keyManagers != null) {
            options.setKeyCertOptions(KeyCertOptions.wrap(managers.keyManager()));
        }
        if (trustManagers != null) {
            options.setTrustOptions(TrustOptions.wrap(managers.trustManager()));
        }
        if (!protocols.isEmpty()) {
            options.setEnabledSecureTransportProtocols(new LinkedHashSet<>(protocols));
        }
        for (String suite : cipherSuites) {
            options.addEnabledCipherSuite(suite);
        }
    }

    /** This side's certificate and key; null when there is no keystore. */
    KeyManagerFactory keyManagers() {
        return keyManagers;
    }

    /** What this side trusts; null when there is no truststore (the JDK's default trust). */
    TrustManagerFactory trustManagers() {
        return trustManagers;
    }

    /** Whether a client checks the server's certificate against the host it connects to. */
    boolean verifiesHostname() {
        return !endpointIdentification.isEmpty();
    }

    private static String rootMessage(Throwable e) {
        StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
        Throwable c = e.getCause();
        while (c != null && c != e) {
            sb.append(": ").append(c.getMessage());
            e = c;
            c = c.getCause();
        }
        return sb.toString();
    }
}
