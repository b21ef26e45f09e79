package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;

import com.sun.net.httpserver.HttpServer;
import io.runnel.Broker;
import io.runnel.testutil.RawKafkaClient;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.SaslAuthenticateRequestData;
import org.apache.kafka.common.message.SaslAuthenticateResponseData;
import org.apache.kafka.common.message.SaslHandshakeRequestData;
import org.apache.kafka.common.message.SaslHandshakeResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.auth.SaslExtensionsCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;
import org.apache.kafka.common.security.oauthbearer.internals.secured.BasicOAuthBearerToken;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.RsaJsonWebKey;
import org.jose4j.jwk.RsaJwkGenerator;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * OAUTHBEARER with signed JWTs, and KIP-368 sessions, as a Kafka broker configured the same way serves them: a JWKS
 * served by a small HTTP server of the test, kafka-clients' OAuthBearerValidatorCallbackHandler on an OAUTH
 * listener, PLAIN users with connections.max.reauth.ms on another, ACLs on. The official Java clients log in with a
 * token minted here; hostile exchanges are made on raw sockets, each with a healthy client working beside them.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class OAuthBearerIT {

    private static final String ALLOWED_URLS = "org.apache.kafka.sasl.oauthbearer.allowed.urls";
    private static final String ISSUER = "https://issuer.runnel.test";
    private static final String AUDIENCE = "runnel";
    private static final long REAUTH_MS = 2000;
    private static final int FAILED_DELAY_MS = 1000;
    private static final String JAAS_PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\"%s\" password=\"%s\";";

    @TempDir
    static Path dir;
    static HttpServer jwks;
    static String jwksUrl;
    static RsaJsonWebKey key;
    /** Not in the JWKS, but with the same key id: what a forger would sign with. */
    static RsaJsonWebKey forgerKey;
    static Broker broker;
    static Admin admin;
    static String previousAllowedUrls;

    @BeforeAll
    static void start() throws Exception {
        key = RsaJwkGenerator.generateJwk(2048);
        key.setKeyId("k1");
        key.setAlgorithm(AlgorithmIdentifiers.RSA_USING_SHA256);
        forgerKey = RsaJwkGenerator.generateJwk(2048);
        forgerKey.setKeyId("k1");
        byte[] keySet = new JsonWebKeySet(key).toJson(JsonWebKey.OutputControlLevel.PUBLIC_ONLY)
                .getBytes(StandardCharsets.UTF_8);
        jwks = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        jwks.createContext("/jwks", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, keySet.length);
            exchange.getResponseBody().write(keySet);
            exchange.close();
        });
        jwks.start();
        jwksUrl = "http://127.0.0.1:" + jwks.getAddress().getPort() + "/jwks";
        // Kafka 4 fetches only the JWKS URLs this system property lists (KAFKA_OPTS for a Kafka broker)
        previousAllowedUrls = System.getProperty(ALLOWED_URLS);
        System.setProperty(ALLOWED_URLS, jwksUrl);

        broker = Broker.start(properties(jwksUrl)).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        admin = Admin.create(plainClient("admin"));
        admin.createTopics(List.of(new NewTopic("oauth-allowed", 1, (short) 1), new NewTopic("oauth-denied", 1, (short) 1)))
                .all().get(30, TimeUnit.SECONDS);
        ResourcePattern allowed = new ResourcePattern(ResourceType.TOPIC, "oauth-allowed", PatternType.LITERAL);
        List<AclBinding> acls = new ArrayList<>();
        for (AclOperation op : List.of(AclOperation.WRITE, AclOperation.DESCRIBE)) {
            acls.add(new AclBinding(allowed, new AccessControlEntry("User:alice", "*", op, AclPermissionType.ALLOW)));
        }
        admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
    }

    private static Map<String, String> properties(String jwksEndpoint) {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data-" + jwksEndpoint.hashCode()).toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,OAUTH://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,OAUTH:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT");
        p.put("admin.listener", "127.0.0.1:0");
        p.put("offsets.topic.num.partitions", "1");
        // the OAUTH listener as Kafka's documentation configures a broker for OAuth
        p.put("listener.name.oauth.sasl.enabled.mechanisms", "OAUTHBEARER");
        p.put("listener.name.oauth.oauthbearer.sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;");
        p.put("listener.name.oauth.oauthbearer.sasl.server.callback.handler.class",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler");
        p.put("sasl.oauthbearer.jwks.endpoint.url", jwksEndpoint);
        p.put("sasl.oauthbearer.expected.audience", AUDIENCE);
        p.put("sasl.oauthbearer.expected.issuer", ISSUER);
        p.put("sasl.oauthbearer.sub.claim.name", "sub");
        // PLAIN users whose sessions last 2 s (KIP-368)
        p.put("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "PLAIN");
        p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_admin=\"admin-secret\""
                        + " user_alice=\"alice-secret\";");
        p.put("listener.name.sasl_plaintext.plain.connections.max.reauth.ms", Long.toString(REAUTH_MS));
        // and OAuth sessions of the OAUTH listener too, well before their tokens expire
        p.put("listener.name.oauth.oauthbearer.connections.max.reauth.ms", Long.toString(REAUTH_MS));
        p.put("connection.failed.authentication.delay.ms", Integer.toString(FAILED_DELAY_MS));
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.put("super.users", "User:admin");
        return p;
    }

    @AfterAll
    static void stop() throws Exception {
        if (admin != null) {
            admin.close();
        }
        if (broker != null) {
            broker.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
        if (jwks != null) {
            jwks.stop(0);
        }
        if (previousAllowedUrls == null) {
            System.clearProperty(ALLOWED_URLS);
        } else {
            System.setProperty(ALLOWED_URLS, previousAllowedUrls);
        }
    }

    /** A JWT signed with {@code signer}, for {@code sub}, expiring {@code expiresInSeconds} from now. */
    static String jwt(RsaJsonWebKey signer, String sub, long expiresInSeconds) throws Exception {
        JwtClaims claims = new JwtClaims();
        claims.setIssuer(ISSUER);
        claims.setAudience(AUDIENCE);
        claims.setSubject(sub);
        claims.setIssuedAtToNow();
        claims.setExpirationTimeMinutesInTheFuture(expiresInSeconds / 60f);
        claims.setClaim("scope", "kafka");
        JsonWebSignature jws = new JsonWebSignature();
        jws.setPayload(claims.toJson());
        jws.setKey(signer.getPrivateKey());
        jws.setKeyIdHeaderValue(signer.getKeyId());
        jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.RSA_USING_SHA256);
        return jws.getCompactSerialization();
    }

    /**
     * A client login that hands over the JWT of its JAAS option {@code jwt} as it is (an identity provider's
     * token, here minted by the test), so that the broker alone judges it.
     */
    public static final class StaticJwtLogin implements AuthenticateCallbackHandler {
        private String jwt;

        @Override
        public void configure(Map<String, ?> configs, String mechanism, List<AppConfigurationEntry> entries) {
            jwt = (String) entries.get(0).getOptions().get("jwt");
        }

        @Override
        public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
            for (Callback c : callbacks) {
                if (c instanceof OAuthBearerTokenCallback t) {
                    long now = System.currentTimeMillis();
                    t.token(new BasicOAuthBearerToken(jwt, Set.of("kafka"), now + 3_600_000L, "client", now));
                } else if (!(c instanceof SaslExtensionsCallback)) {
                    throw new UnsupportedCallbackException(c);
                }
            }
        }

        @Override
        public void close() {
        }
    }

    private static Map<String, Object> oauthClient(String token) {
        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers("OAUTH"));
        c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        c.put(SaslConfigs.SASL_MECHANISM, "OAUTHBEARER");
        c.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
                + " required jwt=\"" + token + "\";");
        c.put(SaslConfigs.SASL_LOGIN_CALLBACK_HANDLER_CLASS, StaticJwtLogin.class);
        return c;
    }

    private static Map<String, Object> plainClient(String user) {
        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers("SASL_PLAINTEXT"));
        c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        c.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
        c.put(SaslConfigs.SASL_JAAS_CONFIG, String.format(JAAS_PLAIN, user, user + "-secret"));
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        return c;
    }

    private static KafkaProducer<String, String> producer(Map<String, Object> client) {
        Map<String, Object> pc = new HashMap<>(client);
        pc.remove(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000);
        pc.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20_000);
        pc.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        return new KafkaProducer<>(pc);
    }

    private static void produce(KafkaProducer<String, String> producer, String topic) throws Exception {
        producer.send(new ProducerRecord<>(topic, "k", "v")).get(30, TimeUnit.SECONDS);
    }

    @Test
    void aSignedTokenAuthenticatesAsItsSubjectAndAclsApply() throws Exception {
        try (KafkaProducer<String, String> alice = producer(oauthClient(jwt(key, "alice", 600)))) {
            produce(alice, "oauth-allowed");
            assertThatThrownBy(() -> produce(alice, "oauth-denied")).isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(TopicAuthorizationException.class);
        }
        try (KafkaProducer<String, String> mallory = producer(oauthClient(jwt(key, "mallory", 600)))) {
            assertThatThrownBy(() -> produce(mallory, "oauth-allowed")).isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void expiredAndWronglySignedTokensAreRefusedWhileAHealthyClientWorks() throws Exception {
        try (KafkaProducer<String, String> healthy = producer(oauthClient(jwt(key, "alice", 600)))) {
            produce(healthy, "oauth-allowed");
            for (String bad : List.of(jwt(key, "alice", -120), jwt(forgerKey, "alice", 600),
                    jwt(key, "alice", 600).replace('.', '!'))) {
                Map<String, Object> c = oauthClient(bad);
                c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
                try (KafkaProducer<String, String> refused = producer(c)) {
                    assertThatThrownBy(() -> produce(refused, "oauth-allowed")).isInstanceOf(Exception.class)
                            .satisfies(e -> assertThat(causes(e)).anyMatch(SaslAuthenticationException.class::isInstance));
                }
                // the same token on a raw connection: Kafka's error, then the connection is closed
                try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers("OAUTH"))) {
                    handshake(raw, "OAUTHBEARER");
                    SaslAuthenticateResponseData refusal = authenticate(raw, oauthInitialResponse(bad));
                    if (refusal.errorCode() == Errors.NONE.code()) {
                        // RFC 7628: a well-formed but invalid token gets an error challenge, which the client
                        // acknowledges with %x01 (a token of the wrong syntax is refused at once)
                        assertThat(new String(refusal.authBytes(), StandardCharsets.UTF_8)).contains("invalid_token");
                        refusal = authenticate(raw, new byte[] {1});
                    }
                    assertThat(refusal.errorCode()).isEqualTo(Errors.SASL_AUTHENTICATION_FAILED.code());
                    assertThat(raw.closedByPeer()).isTrue();
                }
                produce(healthy, "oauth-allowed");
            }
        }
    }

    @Test
    void malformedTokensAndEarlyRequestsCloseTheConnectionWhileAHealthyClientWorks() throws Exception {
        try (KafkaProducer<String, String> healthy = producer(oauthClient(jwt(key, "alice", 600)))) {
            produce(healthy, "oauth-allowed");
            // a token that is not an OAUTHBEARER client response at all, on each mechanism
            for (String[] listener : new String[][] {{"OAUTH", "OAUTHBEARER"}, {"SASL_PLAINTEXT", "PLAIN"}}) {
                for (byte[] garbage : List.of(new byte[] {0, 1, 2, 3, (byte) 0xff}, new byte[0],
                        "n,,\u0001auth=Bearer\u0001".getBytes(StandardCharsets.UTF_8))) {
                    try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers(listener[0]))) {
                        handshake(raw, listener[1]);
                        SaslAuthenticateResponseData answer = authenticate(raw, garbage);
                        if (answer.errorCode() == Errors.NONE.code()) {
                            answer = authenticate(raw, new byte[] {1}); // an OAUTHBEARER error challenge
                        }
                        assertThat(answer.errorCode()).as(listener[1] + " token " + java.util.Arrays.toString(garbage))
                                .isEqualTo(Errors.SASL_AUTHENTICATION_FAILED.code());
                        assertThat(raw.closedByPeer()).isTrue();
                    }
                }
                // any request but ApiVersions and SaslHandshake before authentication closes the connection
                try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers(listener[0]))) {
                    raw.send(ApiKeys.METADATA, (short) 12, new MetadataRequestData().setTopics(null));
                    assertThat(raw.closedByPeer()).isTrue();
                }
                try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers(listener[0]))) {
                    handshake(raw, listener[1]);
                    raw.send(ApiKeys.METADATA, (short) 12, new MetadataRequestData().setTopics(null));
                    assertThat(raw.closedByPeer()).isTrue();
                }
            }
            produce(healthy, "oauth-allowed");
        }
    }

    @Test
    void aWrongPasswordIsAnsweredAfterTheDelayWithoutHoldingUpOtherConnections() throws Exception {
        List<RawKafkaClient> guessers = new ArrayList<>();
        try {
            long sent = System.nanoTime();
            // more than one per event loop, so the healthy connection shares a loop with a delayed answer
            for (int i = 0; i < 4; i++) {
                RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers("SASL_PLAINTEXT"));
                guessers.add(raw);
                handshake(raw, "PLAIN");
                raw.send(ApiKeys.SASL_AUTHENTICATE, (short) 2, new SaslAuthenticateRequestData()
                        .setAuthBytes("\0alice\0guess".getBytes(StandardCharsets.UTF_8)));
            }
            long healthyStart = System.nanoTime();
            try (RawKafkaClient healthy = new RawKafkaClient(broker.bootstrapServers("SASL_PLAINTEXT"))) {
                handshake(healthy, "PLAIN");
                assertThat(authenticate(healthy, "\0alice\0alice-secret".getBytes(StandardCharsets.UTF_8)).errorCode())
                        .isEqualTo(Errors.NONE.code());
                healthy.send(ApiKeys.METADATA, (short) 12, new MetadataRequestData().setTopics(null));
                healthy.receive(ApiKeys.METADATA, (short) 12);
            }
            long healthyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - healthyStart);
            long firstRefusalMs = Long.MAX_VALUE;
            for (RawKafkaClient raw : guessers) {
                SaslAuthenticateResponseData refusal = new SaslAuthenticateResponseData(
                        new ByteBufferAccessor(raw.receive(ApiKeys.SASL_AUTHENTICATE, (short) 2)), (short) 2);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
                firstRefusalMs = Math.min(firstRefusalMs, ms);
                assertThat(refusal.errorCode()).isEqualTo(Errors.SASL_AUTHENTICATION_FAILED.code());
                assertThat(raw.closedByPeer()).isTrue();
            }
            System.out.printf("wrong password answered after %d ms (connection.failed.authentication.delay.ms=%d);"
                    + " a healthy login and Metadata meanwhile took %d ms%n", firstRefusalMs, FAILED_DELAY_MS, healthyMs);
            assertThat(firstRefusalMs).isGreaterThanOrEqualTo(FAILED_DELAY_MS - 50);
            assertThat(healthyMs).as("the delay is a timer, not a blocked event loop").isLessThan(firstRefusalMs);
        } finally {
            for (RawKafkaClient raw : guessers) {
                raw.close();
            }
        }
    }

    @Test
    void theJavaClientReauthenticatesOnTheSameConnection() throws Exception {
        ch.qos.logback.classic.Logger sasl = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(io.runnel.api.SaslAuthenticateHandler.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> seen =
                new ch.qos.logback.core.read.ListAppender<>();
        seen.start();
        ch.qos.logback.classic.Level before = sasl.getLevel();
        sasl.addAppender(seen);
        sasl.setLevel(ch.qos.logback.classic.Level.DEBUG);
        int sent = 0;
        long startNanos = System.nanoTime();
        try (KafkaProducer<String, String> alice = producer(plainClient("alice"));
             KafkaProducer<String, String> oauthAlice = producer(oauthClient(jwt(key, "alice", 600)))) {
            // three session lifetimes of steady traffic: every send must succeed across the re-authentications
            while (System.nanoTime() - startNanos < TimeUnit.MILLISECONDS.toNanos(3 * REAUTH_MS + 500)) {
                produce(alice, "oauth-allowed");
                produce(oauthAlice, "oauth-allowed");
                sent += 2;
                Thread.sleep(100);
            }
        } finally {
            sasl.detachAppender(seen);
            sasl.setLevel(before);
        }
        Pattern line = Pattern.compile("Connection (\\S+) from .* on (SASL_PLAINTEXT|OAUTH): principal User:alice"
                + " \\(session (\\d+) ms, re-authentication (\\d+)\\)");
        Map<String, Integer> reauthsByConnection = new HashMap<>();
        for (var event : seen.list) {
            Matcher m = line.matcher(event.getFormattedMessage());
            if (m.matches()) {
                assertThat(Long.parseLong(m.group(3))).isEqualTo(REAUTH_MS);
                reauthsByConnection.merge(m.group(1), Integer.parseInt(m.group(4)), Math::max);
            }
        }
        System.out.printf("%d sends over %d ms; re-authentications per connection: %s%n", sent,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), reauthsByConnection);
        for (String listener : List.of("SASL_PLAINTEXT", "OAUTH")) {
            assertThat(reauthsByConnection).as("a " + listener + " connection re-authenticated at least twice")
                    .anySatisfy((connection, n) -> assertThat(connection.startsWith(listener + "-") && n >= 2).isTrue());
        }
    }

    @Test
    void theTokenExpiryCapsTheSessionAndAnEndedSessionIsClosedOnItsNextRequest() throws Exception {
        try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers("OAUTH"))) {
            handshake(raw, "OAUTHBEARER");
            // exp has a resolution of seconds, and the token's 1 s is shorter than the listener's 2 s
            SaslAuthenticateResponseData ok = authenticate(raw, oauthInitialResponse(jwt(key, "alice", 1)));
            assertThat(ok.errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(ok.sessionLifetimeMs()).as("the token's 1 s, less the time since minting")
                    .isLessThan(REAUTH_MS).isLessThanOrEqualTo(1_000L);
        }
        try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers("OAUTH"))) {
            handshake(raw, "OAUTHBEARER");
            SaslAuthenticateResponseData ok = authenticate(raw, oauthInitialResponse(jwt(key, "alice", 300)));
            assertThat(ok.sessionLifetimeMs()).as("connections.max.reauth.ms, shorter than the token's 300 s")
                    .isEqualTo(REAUTH_MS);
        }
        // a PLAIN session of 2 s: served within it, closed on the first request after it
        try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers("SASL_PLAINTEXT"));
             KafkaProducer<String, String> healthy = producer(oauthClient(jwt(key, "alice", 600)))) {
            handshake(raw, "PLAIN");
            SaslAuthenticateResponseData ok = authenticate(raw, "\0alice\0alice-secret".getBytes(StandardCharsets.UTF_8));
            assertThat(ok.sessionLifetimeMs()).isEqualTo(REAUTH_MS);
            raw.send(ApiKeys.METADATA, (short) 12, new MetadataRequestData().setTopics(null));
            raw.receive(ApiKeys.METADATA, (short) 12);
            Thread.sleep(REAUTH_MS + 300);
            raw.send(ApiKeys.METADATA, (short) 12, new MetadataRequestData().setTopics(null));
            assertThat(raw.closedByPeer()).isTrue();
            produce(healthy, "oauth-allowed");
        }
        // re-authenticating as someone else is refused, and the connection closed
        try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers("SASL_PLAINTEXT"))) {
            handshake(raw, "PLAIN");
            assertThat(authenticate(raw, "\0alice\0alice-secret".getBytes(StandardCharsets.UTF_8)).errorCode())
                    .isEqualTo(Errors.NONE.code());
            handshake(raw, "PLAIN");
            SaslAuthenticateResponseData other = authenticate(raw, "\0admin\0admin-secret".getBytes(StandardCharsets.UTF_8));
            assertThat(other.errorCode()).isEqualTo(Errors.SASL_AUTHENTICATION_FAILED.code());
            assertThat(other.errorMessage()).contains("Cannot change principals during re-authentication");
            assertThat(raw.closedByPeer()).isTrue();
        }
    }

    @Test
    void aJwksUrlOutsideTheAllowedUrlsStopsStartUpNamingTheKey() {
        String other = "http://127.0.0.1:1/not-allowed";
        assertThatThrownBy(() -> Broker.start(properties(other)).toCompletionStage().toCompletableFuture()
                .get(60, TimeUnit.SECONDS))
                .satisfies(e -> assertThat(causes(e)).anyMatch(c -> c instanceof ConfigException
                        && c.getMessage().contains("sasl.oauthbearer.jwks.endpoint.url")
                        && c.getMessage().contains(ALLOWED_URLS)));
    }

    private static List<Throwable> causes(Throwable e) {
        List<Throwable> all = new ArrayList<>();
        for (Throwable t = e; t != null && !all.contains(t); t = t.getCause()) {
            all.add(t);
        }
        return all;
    }

    static byte[] oauthInitialResponse(String token) {
        return ("n,,\u0001auth=Bearer " + token + "\u0001\u0001").getBytes(StandardCharsets.UTF_8);
    }

    static void handshake(RawKafkaClient raw, String mechanism) throws IOException {
        raw.send(ApiKeys.SASL_HANDSHAKE, (short) 1, new SaslHandshakeRequestData().setMechanism(mechanism));
        SaslHandshakeResponseData answer = new SaslHandshakeResponseData(
                new ByteBufferAccessor(raw.receive(ApiKeys.SASL_HANDSHAKE, (short) 1)), (short) 1);
        assertThat(answer.errorCode()).isEqualTo(Errors.NONE.code());
    }

    static SaslAuthenticateResponseData authenticate(RawKafkaClient raw, byte[] token) throws IOException {
        raw.send(ApiKeys.SASL_AUTHENTICATE, (short) 2, new SaslAuthenticateRequestData().setAuthBytes(token));
        ByteBuffer body = raw.receive(ApiKeys.SASL_AUTHENTICATE, (short) 2);
        return new SaslAuthenticateResponseData(new ByteBufferAccessor(body), (short) 2);
    }
}
