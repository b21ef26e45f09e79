package io.runnel.security;

import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import javax.net.ssl.SSLContext;

import io.netty.handler.ssl.OpenSsl;
import io.runnel.config.BrokerConfig;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import org.apache.kafka.common.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS implementation of Runnel's TLS servers and clients, {@code runnel.ssl.engine} (per listener as
 * {@code listener.name.<listener>.runnel.ssl.engine}): {@code openssl} is Netty's OpenSSL engine on BoringSSL
 * (netty-tcnative-boringssl-static), which encrypts and decrypts with a fraction of the CPU of the JDK's
 * {@code SSLEngine}; {@code jdk} is the JDK's, which Apache Kafka uses; {@code auto} (the default) is
 * {@code openssl} where its native library loads (Linux x86-64) and {@code jdk} elsewhere.
 *
 * <p>Both serve the same stores, client authentication, {@code ssl.enabled.protocols} and {@code ssl.cipher.suites}.
 * Without {@code ssl.cipher.suites}, BoringSSL is given the suites the JDK enables by default (those it
 * implements), so that the JDK's {@code jdk.tls.disabledAlgorithms} and defaults still decide what a listener
 * accepts, as they do for Kafka: BoringSSL alone would also offer suites the JDK turns off (3DES). Immutable.
 */
enum TlsEngine {
    JDK,
    OPENSSL;

    static final String CONFIG = BrokerConfig.SSL_ENGINE;
    static final String AUTO = "auto";

    private static final Logger LOG = LoggerFactory.getLogger(TlsEngine.class);

    /** The JDK's default-enabled cipher suites that BoringSSL implements, in the JDK's order of preference. */
    private static volatile List<String> openSslDefaults;

    /**
     * @param setting the value of {@code runnel.ssl.engine} (null or empty: {@code auto})
     * @param listenerName what is served, for messages
     * @throws ConfigException naming {@code runnel.ssl.engine} for an unknown value, or for {@code openssl} where
     *         BoringSSL cannot be loaded
     */
    static TlsEngine resolve(String setting, String listenerName) {
        String value = setting == null || setting.isBlank() ? AUTO : setting.trim().toLowerCase(Locale.ROOT);
        switch (value) {
            case "jdk":
                return JDK;
            case "openssl":
                if (!OpenSSLEngineOptions.isAvailable()) {
                    throw new ConfigException(CONFIG, setting, "listener " + listenerName
                            + ": BoringSSL (netty-tcnative) cannot be loaded on this platform ("
                            + OpenSsl.unavailabilityCause() + "); " + CONFIG + "=jdk or auto uses the JDK's TLS");
                }
                return OPENSSL;
            case AUTO:
                if (OpenSSLEngineOptions.isAvailable()) {
                    return OPENSSL;
                }
                LOG.info("{}: TLS on the JDK's engine, BoringSSL (netty-tcnative) cannot be loaded here: {}",
                        listenerName, String.valueOf(OpenSsl.unavailabilityCause()));
                return JDK;
            default:
                throw new ConfigException(CONFIG, setting, "listener " + listenerName
                        + ": must be auto, openssl or jdk");
        }
    }

    /** The Vert.x options that select this engine. */
    SSLEngineOptions options() {
        return this == OPENSSL ? new OpenSSLEngineOptions() : new JdkSSLEngineOptions();
    }

    /**
     * The cipher suites to enable: {@code configured} ({@code ssl.cipher.suites}) when not empty; otherwise none
     * on the JDK engine (its defaults), and on BoringSSL the JDK's defaults that BoringSSL implements.
     */
    List<String> cipherSuites(List<String> configured) {
        if (!configured.isEmpty() || this == JDK) {
            return configured;
        }
        List<String> defaults = openSslDefaults;
        if (defaults == null) {
            defaults = new ArrayList<>();
            try {
                for (String suite : SSLContext.getDefault().getDefaultSSLParameters().getCipherSuites()) {
                    if (OpenSsl.isCipherSuiteAvailable(suite)) {
                        defaults.add(suite);
                    }
                }
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JDK has no default SSLContext", e);
            }
            defaults = List.copyOf(defaults);
            openSslDefaults = defaults;
        }
        return defaults;
    }
}
