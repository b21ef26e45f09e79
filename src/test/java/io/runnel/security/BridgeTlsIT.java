package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import io.runnel.Broker;
import io.runnel.bridge.BridgeFrames;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TCP event-bus bridge over TLS (bridge.ssl.* stores) from a JDK SSLSocket trusting the test CA, with the
 * authorizer's ACLs applied to a Basic user: alice may write, read and describe topic a and read group g-alice only;
 * the bearer token keeps full access; a plain-TCP client gets no frame through.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BridgeTlsIT {

    private static final String TOKEN = "bridge-ops-token-0123456789";

    @TempDir
    static Path dir;
    static Broker broker;
    static SSLContext ssl;
    static TestCertificates certs;
    static String suffix = Long.toHexString(System.nanoTime());
    static String topicA = "a-" + suffix;
    static String topicB = "b-" + suffix;

    @BeforeAll
    static void start() throws Exception {
        certs = TestCertificates.create(Files.createDirectories(dir.resolve("certs")));
        Map<String, String> p = settings(dir.resolve("data"));
        broker = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);

        KeyStore trust = KeyStore.getInstance("JKS");
        try (InputStream in = Files.newInputStream(certs.truststore())) {
            trust.load(in, TestCertificates.TRUST_PASSWORD.toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000))) {
            admin.createTopics(List.of(new NewTopic(topicA, 1, (short) 1), new NewTopic(topicB, 1, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion("alice",
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), "alice-secret")))
                    .all().get(30, TimeUnit.SECONDS);
            ResourcePattern a = new ResourcePattern(ResourceType.TOPIC, topicA, PatternType.LITERAL);
            admin.createAcls(List.of(
                    new AclBinding(a, new AccessControlEntry("User:alice", "*", AclOperation.WRITE, AclPermissionType.ALLOW)),
                    new AclBinding(a, new AccessControlEntry("User:alice", "*", AclOperation.READ, AclPermissionType.ALLOW)),
                    new AclBinding(new ResourcePattern(ResourceType.GROUP, "g-alice", PatternType.LITERAL),
                            new AccessControlEntry("User:alice", "*", AclOperation.READ, AclPermissionType.ALLOW))))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    private static Map<String, String> settings(Path data) {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", data.toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0");
        p.put("admin.listener", "127.0.0.1:0"); // two brokers of this class may run at once
        p.put("bridge.tcp.listener", "127.0.0.1:0");
        p.put("bridge.sockjs.listener", "127.0.0.1:0");
        p.put("bridge.auth.token", TOKEN);
        p.put("bridge.ssl.keystore.type", "PKCS12");
        p.put("bridge.ssl.keystore.location", certs.serverKeystore().toString());
        p.put("bridge.ssl.keystore.password", TestCertificates.STORE_PASSWORD);
        p.put("bridge.ssl.key.password", TestCertificates.STORE_PASSWORD);
        p.put("offsets.topic.num.partitions", "1");
        p.put("auto.create.topics.enable", "true");
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.put("super.users", "User:ANONYMOUS"); // the test's own Kafka client, on PLAINTEXT
        return p;
    }

    @AfterAll
    static void stop() throws Exception {
        if (broker != null) {
            broker.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    private static BridgeFrames tls() throws Exception {
        SSLSocket s = (SSLSocket) ssl.getSocketFactory().createSocket("127.0.0.1", broker.tcpBridgePort());
        s.startHandshake();
        return new BridgeFrames(s);
    }

    private static JsonObject auth(String authorization) {
        return new JsonObject().put("authorization", authorization);
    }

    private static Set<String> topicNames(JsonObject metadataReply) {
        return metadataReply.getJsonObject("body").getJsonArray("topics").stream()
                .map(o -> ((JsonObject) o).getString("name")).collect(Collectors.toSet());
    }

    @Test
    void aBasicUserGetsWhatItsAclsAllowWithKafkasErrorCodes() throws Exception {
        String alice = BridgeFrames.basic("alice", "alice-secret");
        try (BridgeFrames c = tls()) {
            JsonObject meta = c.request("runnel.metadata", new JsonObject(), auth(alice));
            assertThat(meta.getString("type")).as(meta.encode()).isEqualTo("message");
            assertThat(topicNames(meta)).contains(topicA).doesNotContain(topicB);

            JsonObject written = c.request("runnel.produce", new JsonObject().put("value", "hello")
                    .put("valueEncoding", "text"), auth(alice).put("topic", topicA));
            assertThat(written.getString("type")).as(written.encode()).isEqualTo("message");
            assertThat(written.getJsonObject("body").getLong("offset")).isNotNegative();

            JsonObject toB = c.request("runnel.produce", new JsonObject().put("value", "x")
                    .put("valueEncoding", "text"), auth(alice).put("topic", topicB));
            assertThat(toB.getString("type")).as(toB.encode()).isEqualTo("err");
            assertThat(toB.getInteger("failureCode")).isEqualTo(29);
            // one record of an array naming a topic alice may not write refuses the frame
            JsonObject mixed = c.request("runnel.produce", new JsonArray()
                    .add(new JsonObject().put("value", "y").put("valueEncoding", "text"))
                    .add(new JsonObject().put("topic", topicB).put("value", "z").put("valueEncoding", "text")),
                    auth(alice).put("topic", topicA));
            assertThat(mixed.getInteger("failureCode")).as(mixed.encode()).isEqualTo(29);
            // auto-creation needs CREATE
            String fresh = "fresh-" + suffix;
            JsonObject create = c.request("runnel.produce", new JsonObject().put("value", "x")
                    .put("valueEncoding", "text"), auth(alice).put("topic", fresh));
            assertThat(create.getInteger("failureCode")).as(create.encode()).isEqualTo(29);
            assertThat(broker.tcpBridgePort()).isPositive();

            String inbox = "runnel.client.alice-" + suffix;
            c.register(inbox, alice);
            JsonObject otherGroup = c.request("runnel.subscribe", new JsonObject().put("group", "g-other")
                    .put("topics", new JsonArray().add(topicA)).put("address", inbox).put("encoding", "text"),
                    auth(alice));
            assertThat(otherGroup.getInteger("failureCode")).as(otherGroup.encode()).isEqualTo(30);
            JsonObject otherTopic = c.request("runnel.subscribe", new JsonObject().put("group", "g-alice")
                    .put("topics", new JsonArray().add(topicB)).put("address", inbox).put("encoding", "text"),
                    auth(alice));
            assertThat(otherTopic.getInteger("failureCode")).as(otherTopic.encode()).isEqualTo(29);
            // refusals by ACL do not close the connection (bridge.auth.max.failures is 3): it still serves
            JsonObject sub = c.request("runnel.subscribe", new JsonObject().put("group", "g-alice")
                    .put("topics", new JsonArray().add(topicA)).put("address", inbox).put("encoding", "text")
                    .put("autoOffsetReset", "earliest"), auth(alice));
            assertThat(sub.getString("type")).as(sub.encode()).isEqualTo("message");
            JsonObject delivery;
            do {
                delivery = c.read();
                assertThat(delivery.getString("type")).as(delivery.encode()).isNotEqualTo("err");
            } while (!inbox.equals(delivery.getString("address")));
            assertThat(delivery.getJsonObject("body").getString("value")).isEqualTo("hello");
            c.ack(delivery, alice);
        }
    }

    @Test
    void theBearerTokenKeepsFullAccess() throws Exception {
        String bearer = "Bearer " + TOKEN;
        try (BridgeFrames c = tls()) {
            JsonObject meta = c.request("runnel.metadata", new JsonObject(), auth(bearer));
            assertThat(topicNames(meta)).contains(topicA, topicB);
            JsonObject toB = c.request("runnel.produce", new JsonObject().put("value", "x")
                    .put("valueEncoding", "text"), auth(bearer).put("topic", topicB));
            assertThat(toB.getString("type")).as(toB.encode()).isEqualTo("message");
        }
    }

    @Test
    void aPlainTcpClientGetsNothingThrough() throws Exception {
        try (Socket plain = new Socket("127.0.0.1", broker.tcpBridgePort());
             BridgeFrames c = new BridgeFrames(plain)) {
            c.write(new JsonObject().put("type", "ping"));
            boolean answered;
            try {
                JsonObject f = c.read();
                answered = "pong".equals(f.getString("type"));
            } catch (java.io.IOException e) {
                answered = false; // closed by the TLS server, or garbage that is no frame
            }
            assertThat(answered).isFalse();
        }
    }

    @Test
    void theSockJsBridgeServesHttpsWithTheSameAcls() throws Exception {
        io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
        try {
            java.util.concurrent.BlockingQueue<JsonObject> received = new java.util.concurrent.LinkedBlockingQueue<>();
            io.vertx.core.http.WebSocketClient client = vertx.createWebSocketClient(
                    new io.vertx.core.http.WebSocketClientOptions().setSsl(true).setTrustOptions(
                            new io.vertx.core.net.JksOptions().setPath(certs.truststore().toString())
                                    .setPassword(TestCertificates.TRUST_PASSWORD)));
            io.vertx.core.http.WebSocket ws = client.connect(broker.sockJsBridgePort(), "127.0.0.1",
                    "/eventbus/websocket").onSuccess(w -> w.frameHandler(f -> {
                        if (f.isText() || f.isBinary()) {
                            received.add(new JsonObject(f.binaryData()));
                        }
                    })).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            String alice = BridgeFrames.basic("alice", "alice-secret");
            String meta = "m-" + suffix;
            ws.writeTextMessage(new JsonObject().put("type", "send").put("address", "runnel.metadata")
                    .put("body", new JsonObject()).put("replyAddress", meta).put("headers", auth(alice)).encode());
            JsonObject answer = nextFor(received, meta);
            assertThat(answer.getString("type")).as(answer.encode()).isEqualTo("rec");
            assertThat(topicNames(answer)).contains(topicA).doesNotContain(topicB);
            String produce = "p-" + suffix;
            ws.writeTextMessage(new JsonObject().put("type", "send").put("address", "runnel.produce")
                    .put("body", new JsonObject().put("value", "x").put("valueEncoding", "text"))
                    .put("replyAddress", produce).put("headers", auth(alice).put("topic", topicB)).encode());
            JsonObject refused = nextFor(received, produce);
            assertThat(refused.getString("type")).as(refused.encode()).isEqualTo("err");
            assertThat(refused.getInteger("failureCode")).isEqualTo(29);
            client.close();
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    private static JsonObject nextFor(java.util.concurrent.BlockingQueue<JsonObject> q, String address)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            JsonObject f = q.poll(1, TimeUnit.SECONDS);
            if (f != null && address.equals(f.getString("address"))) {
                return f;
            }
        }
        throw new AssertionError("no frame for " + address);
    }

    /** A non-loopback IPv4 address of this host, or null. */
    private static java.net.InetAddress siteAddress() throws Exception {
        for (var nif : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            if (!nif.isUp() || nif.isLoopback()) {
                continue;
            }
            for (var a : java.util.Collections.list(nif.getInetAddresses())) {
                if (a instanceof java.net.Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
                    return a;
                }
            }
        }
        return null;
    }

    @Test
    void withoutTlsBasicPasswordsAreRefusedFromBeyondLoopback(@TempDir Path other) throws Exception {
        java.net.InetAddress site = siteAddress();
        org.junit.jupiter.api.Assumptions.assumeTrue(site != null, "no non-loopback address on this host");
        Map<String, String> p = settings(other);
        p.keySet().removeIf(k -> k.startsWith("bridge.ssl.") || k.equals("bridge.sockjs.listener"));
        p.put("bridge.tcp.listener", site.getHostAddress() + ":0");
        p.put("authorizer.class.name", "");
        Broker plain = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, plain.bootstrapServers()))) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion("bob",
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), "bob-secret")))
                    .all().get(30, TimeUnit.SECONDS);
            try (BridgeFrames c = new BridgeFrames(new Socket(site, plain.tcpBridgePort()))) {
                JsonObject refused = c.request("runnel.metadata", new JsonObject(),
                        auth(BridgeFrames.basic("bob", "bob-secret")));
                assertThat(refused.getString("type")).as(refused.encode()).isEqualTo("err");
                assertThat(refused.getInteger("failureCode")).isEqualTo(58);
                assertThat(refused.getString("message")).contains("only over TLS");
                JsonObject byToken = c.request("runnel.metadata", new JsonObject(), auth("Bearer " + TOKEN));
                assertThat(byToken.getString("type")).as(byToken.encode()).isEqualTo("message");
            }
        } finally {
            plain.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void aBadBridgeKeystoreStopsStartUpNamingTheKey(@TempDir Path other) throws Exception {
        Map<String, String> p = settings(other);
        p.put("bridge.ssl.keystore.location", other.resolve("missing.p12").toString());
        Throwable failure = null;
        try {
            Broker b = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
            b.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            failure = e.getCause();
        }
        assertThat(failure).isInstanceOf(ConfigException.class);
        assertThat(failure.getMessage()).contains("ssl.keystore.location").contains("bridge");
    }
}
