package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslHandler;
import io.runnel.config.BrokerConfig;
import io.runnel.config.Listener;
import io.vertx.core.Vertx;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * runnel.ssl.engine: which engine each value picks, the cipher suites BoringSSL is given, and real handshakes
 * (JDK client sockets on loopback, mutual TLS) against a Vert.x server on each engine with PKCS12 and PEM keys.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsEngineTest {

    @TempDir
    static Path dir;
    static TestCertificates certs;
    static Vertx vertx;

    @BeforeAll
    static void setUp() throws Exception {
        certs = TestCertificates.create(dir);
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void tearDown() throws Exception {
        vertx.close().await(20, TimeUnit.SECONDS);
    }

    @Test
    void boringSslLoadsOnThisPlatformAndAutoPicksIt() {
        // the build packages linux-x86_64's native library: where it runs, auto must be the fast engine
        if ("amd64".equals(System.getProperty("os.arch")) && System.getProperty("os.name").startsWith("Linux")) {
            assertThat(OpenSSLEngineOptions.isAvailable()).as("%s", OpenSsl.unavailabilityCause()).isTrue();
        }
        TlsEngine expected = OpenSSLEngineOptions.isAvailable() ? TlsEngine.OPENSSL : TlsEngine.JDK;
        assertThat(TlsEngine.resolve(null, "SSL")).isEqualTo(expected);
        assertThat(TlsEngine.resolve("", "SSL")).isEqualTo(expected);
        assertThat(TlsEngine.resolve("AUTO", "SSL")).isEqualTo(expected);
        assertThat(TlsEngine.resolve("jdk", "SSL")).isEqualTo(TlsEngine.JDK);
        assertThat(TlsEngine.resolve("OpenSSL", "SSL")).isEqualTo(TlsEngine.OPENSSL);
        assertThatThrownBy(() -> TlsEngine.resolve("boringssl", "SSL")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("runnel.ssl.engine").hasMessageContaining("auto, openssl or jdk");
    }

    @Test
    void aBadValueStopsStartUpNamingTheKey() {
        assertThatThrownBy(() -> config(Map.of("runnel.ssl.engine", "fast")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("runnel.ssl.engine");
    }

    @Test
    void boringSslGetsTheJdksDefaultSuitesUnlessSuitesAreConfigured() throws Exception {
        List<String> jdkDefaults = Arrays.asList(SSLContext.getDefault().getDefaultSSLParameters().getCipherSuites());
        List<String> suites = TlsEngine.OPENSSL.cipherSuites(List.of());
        assertThat(suites).isNotEmpty().isSubsetOf(jdkDefaults)
                .contains("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
                .noneMatch(s -> s.contains("3DES") || s.contains("_DES_") || s.contains("RC4") || s.contains("NULL"));
        assertThat(TlsEngine.JDK.cipherSuites(List.of())).isEmpty();
        List<String> configured = List.of("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
        assertThat(TlsEngine.OPENSSL.cipherSuites(configured)).isEqualTo(configured);
    }

    @Test
    void eachEngineServesMutualTlsFromPkcs12() throws Exception {
        for (String engine : List.of("openssl", "jdk")) {
            Map<String, String> p = new HashMap<>(Map.of("ssl.keystore.type", "PKCS12",
                    "ssl.keystore.location", certs.serverKeystore().toString(),
                    "ssl.keystore.password", TestCertificates.STORE_PASSWORD,
                    "ssl.key.password", TestCertificates.STORE_PASSWORD));
            p.put("listener.name.ssl.runnel.ssl.engine", engine);
            handshake(p, engine);
        }
    }

    @Test
    void eachEngineServesAPemKey() throws Exception {
        for (String engine : List.of("openssl", "jdk")) {
            Map<String, String> p = new HashMap<>(Map.of("ssl.keystore.type", "PEM",
                    "ssl.keystore.key", certs.serverKeyPem(),
                    "ssl.keystore.certificate.chain", certs.serverCertificatePem()));
            p.put("runnel.ssl.engine", engine);
            handshake(p, engine);
        }
    }

    @Test
    void eachEngineChecksTheServersNameAsAClient() throws Exception {
        for (String engine : List.of("openssl", "jdk")) {
            Map<String, String> p = new HashMap<>(Map.of("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
                    "ssl.keystore.type", "PKCS12", "ssl.keystore.location", certs.serverKeystore().toString(),
                    "ssl.keystore.password", TestCertificates.STORE_PASSWORD,
                    "ssl.key.password", TestCertificates.STORE_PASSWORD,
                    "ssl.truststore.type", "JKS", "ssl.truststore.location", certs.truststore().toString(),
                    "ssl.truststore.password", TestCertificates.TRUST_PASSWORD, "runnel.ssl.engine", engine));
            BrokerConfig c = config(p);
            Listener l = c.listeners().stream().filter(x -> x.name().equals("SSL")).findFirst().orElseThrow();
            ListenerSecurity security = ListenerSecurity.of(c, l);
            // the inter-broker client side: ssl.endpoint.identification.algorithm defaults to https
            TlsSettings client = TlsSettings.forClient(c.valuesWithPrefixOverride(l.listenerName().configPrefix()),
                    "SSL", l.listenerName().configPrefix());
            assertThat(client.engine()).isEqualTo(TlsEngine.resolve(engine, "SSL"));
            io.vertx.core.net.NetClientOptions options = new io.vertx.core.net.NetClientOptions().setConnectTimeout(20_000);
            client.applyTo(options);
            io.vertx.core.net.NetClient netClient = vertx.createNetClient(options);
            // the certificate names 127.0.0.1 and localhost; 127.0.0.2 is loopback too, but not in it
            for (String host : List.of("127.0.0.1", "127.0.0.2")) {
                NetServer server = vertx.createNetServer(security.applyTo(new NetServerOptions().setHost(host)))
                        .connectHandler(socket -> socket.handler(socket::write));
                server.listen(0).await(20, TimeUnit.SECONDS);
                try {
                    if (host.equals("127.0.0.1")) {
                        io.vertx.core.net.NetSocket socket = netClient.connect(server.actualPort(), host)
                                .await(20, TimeUnit.SECONDS);
                        CompletableFuture<String> echo = new CompletableFuture<>();
                        socket.handler(b -> echo.complete(b.toString()));
                        socket.write("ping").await(20, TimeUnit.SECONDS);
                        assertThat(echo.get(20, TimeUnit.SECONDS)).as(engine).isEqualTo("ping");
                        socket.close().await(20, TimeUnit.SECONDS);
                    } else {
                        int port = server.actualPort();
                        assertThatThrownBy(() -> netClient.connect(port, host).await(20, TimeUnit.SECONDS))
                                .as(engine + " must refuse a certificate that does not name " + host)
                                .hasStackTraceContaining("127.0.0.2");
                    }
                } finally {
                    server.close().await(20, TimeUnit.SECONDS);
                }
            }
            netClient.close().await(20, TimeUnit.SECONDS);
        }
    }

    /** A JDK client with the client certificate exchanges a line with a Vert.x server on the listener's engine. */
    private static void handshake(Map<String, String> tls, String engine) throws Exception {
        Map<String, String> p = new HashMap<>(tls);
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0");
        p.put("ssl.client.auth", "required");
        p.put("ssl.truststore.type", "JKS");
        p.put("ssl.truststore.location", certs.truststore().toString());
        p.put("ssl.truststore.password", TestCertificates.TRUST_PASSWORD);
        BrokerConfig c = config(p);
        Listener l = c.listeners().stream().filter(x -> x.name().equals("SSL")).findFirst().orElseThrow();
        ListenerSecurity security = ListenerSecurity.of(c, l);
        assertThat(security.tls().engine()).isEqualTo(TlsEngine.resolve(engine, "SSL"));
        CompletableFuture<String> served = new CompletableFuture<>();
        NetServer server = vertx.createNetServer(security.applyTo(new NetServerOptions().setHost("127.0.0.1")))
                .connectHandler(socket -> socket.handler(data -> {
                    SslHandler ssl = ((NetSocketInternal) socket).channelHandlerContext().pipeline().get(SslHandler.class);
                    try {
                        KafkaPrincipal principal = security.newConnection(socket.sslSession(),
                                InetAddress.getLoopbackAddress()).principal();
                        served.complete(ssl.engine().getClass().getSimpleName() + " " + principal.getName());
                    } catch (RuntimeException e) {
                        served.completeExceptionally(e);
                    }
                    socket.write(data);
                }));
        server.listen(0).await(20, TimeUnit.SECONDS);
        try (SSLSocket s = (SSLSocket) clientContext().getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), server.actualPort())) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            byte[] back = new byte[5];
            int n = 0;
            while (n < back.length) {
                int r = s.getInputStream().read(back, n, back.length - n);
                assertThat(r).isPositive();
                n += r;
            }
            assertThat(new String(back, StandardCharsets.UTF_8)).isEqualTo("ping\n");
            String seen = served.get(20, TimeUnit.SECONDS);
            assertThat(seen).endsWith(" " + TestCertificates.CLIENT_DN);
            if (engine.equals("openssl")) {
                assertThat(seen).contains("OpenSsl");
            } else {
                assertThat(seen).doesNotContain("OpenSsl");
            }
        } finally {
            server.close().await(20, TimeUnit.SECONDS);
        }
    }

    private static BrokerConfig config(Map<String, String> extra) {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.putAll(extra);
        return new BrokerConfig(p);
    }

    private static SSLContext clientContext() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(certs.clientKeystore())) {
            ks.load(in, TestCertificates.STORE_PASSWORD.toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(ks, TestCertificates.STORE_PASSWORD.toCharArray());
        KeyStore ts = KeyStore.getInstance("JKS");
        try (InputStream in = Files.newInputStream(certs.truststore())) {
            ts.load(in, TestCertificates.TRUST_PASSWORD.toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }
}
