package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The TCP event-bus bridge (bridge.tcp.listener) from a plain socket, as a client in any language sees it:
 * credentials, permitted addresses, ownership of delivery addresses and subscriptions, and malformed frames.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ExternalBridgesIT {

    static final String TOKEN = "it-token-" + UUID.randomUUID();
    static final String USER = "bridge-user";
    static final String PASSWORD = "bridge-password-1";

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create()
            .withProperty("bridge.tcp.listener", "127.0.0.1:0")
            .withProperty("bridge.sockjs.listener", "127.0.0.1:0")
            .withProperty("bridge.auth.token", TOKEN)
            .withProperty("group.min.session.timeout.ms", "1000");

    @BeforeAll
    static void scramUser() throws Exception {
        assumeFalse(node.isExternal(), "the bridges need the in-process node");
        node.admin().alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(USER,
                new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), PASSWORD))).all().get(30, TimeUnit.SECONDS);
    }

    static String bearer() {
        return "Bearer " + TOKEN;
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** A TCP bridge connection: 4-byte big-endian length + UTF-8 JSON per frame. */
    static final class Frames implements AutoCloseable {
        final Socket socket;
        final DataInputStream in;
        final OutputStream out;

        Frames() throws IOException {
            socket = new Socket("127.0.0.1", node.broker().tcpBridgePort());
            socket.setSoTimeout(30_000);
            in = new DataInputStream(socket.getInputStream());
            out = socket.getOutputStream();
        }

        void raw(byte[] bytes) throws IOException {
            out.write(bytes);
            out.flush();
        }

        void write(JsonObject frame) throws IOException {
            byte[] data = frame.encode().getBytes(StandardCharsets.UTF_8);
            raw(ByteBuffer.allocate(4 + data.length).putInt(data.length).put(data).array());
        }

        JsonObject read() throws IOException {
            int length = in.readInt();
            byte[] data = new byte[length];
            in.readFully(data);
            return new JsonObject(new String(data, StandardCharsets.UTF_8));
        }

        /** Sends a request and returns the frame answering it (message or err), skipping others. */
        JsonObject request(String address, Object body, String authorization) throws IOException {
            String reply = UUID.randomUUID().toString();
            JsonObject frame = new JsonObject().put("type", "send").put("address", address).put("body", body)
                    .put("replyAddress", reply);
            if (authorization != null) {
                frame.put("headers", new JsonObject().put("authorization", authorization));
            }
            write(frame);
            while (true) {
                JsonObject f = read();
                if (reply.equals(f.getString("address"))) {
                    return f;
                }
            }
        }

        void register(String address, String authorization) throws IOException {
            write(new JsonObject().put("type", "register").put("address", address)
                    .put("headers", new JsonObject().put("authorization", authorization)));
        }

        /** True once the server has closed the connection (EOF), reading and dropping frames before it. */
        boolean closedByServer() throws IOException {
            try {
                while (true) {
                    read();
                }
            } catch (EOFException e) {
                return true;
            } catch (SocketTimeoutException e) {
                return false;
            } catch (IOException e) {
                return true; // reset
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void metadataAnswersWithABearerTokenOrAScramPasswordAndPingGetsPong() throws Exception {
        try (Frames c = new Frames()) {
            JsonObject byToken = c.request("runnel.metadata", new JsonObject(), bearer());
            assertThat(byToken.getString("type")).isEqualTo("message");
            assertThat(byToken.getJsonObject("body").getString("clusterId")).isNotEmpty();
            JsonObject byPassword = c.request("runnel.metadata", new JsonObject(), basic(USER, PASSWORD));
            assertThat(byPassword.getString("type")).as(byPassword.encode()).isEqualTo("message");
            c.write(new JsonObject().put("type", "ping"));
            assertThat(c.read().getString("type")).isEqualTo("pong");
        }
    }

    @Test
    void framesWithoutValidCredentialsAreRefusedForwardedNowhereAndTheConnectionClosesAfterThree() throws Exception {
        String topic = RunnelNode.uniqueName("bridge-refused");
        node.createTopic(topic, 1);
        try (Frames c = new Frames()) {
            JsonObject none = c.request("runnel.produce", "no credentials", null);
            assertThat(none.getString("type")).isEqualTo("err");
            assertThat(none.getInteger("failureCode")).isEqualTo(58);
            assertThat(none.getString("message")).startsWith("authentication_failed");
            JsonObject wrongToken = c.request("runnel.produce", "wrong token", "Bearer not-the-token-at-all-123");
            assertThat(wrongToken.getString("message")).startsWith("authentication_failed");
            // a produce frame in the current binary form: headers carry the topic
            JsonObject wrongPassword = new JsonObject().put("type", "send").put("address", "runnel.produce")
                    .put("body", "wrong password").put("replyAddress", "r-3")
                    .put("headers", new JsonObject().put("topic", topic).put("authorization", basic(USER, "nope")));
            c.write(wrongPassword);
            JsonObject third = c.read();
            assertThat(third.getString("message")).startsWith("authentication_failed");
            assertThat(c.closedByServer()).isTrue();
        }
        assertThat(endOffset(topic)).isZero();
    }

    @Test
    void addressesOutsideThePermittedListsAreRefused() throws Exception {
        try (Frames c = new Frames()) {
            // an internal per-node address, a Vert.x internal one, and publish to a public one
            JsonObject internal = c.request("runnel.node.1.produce", "x", bearer());
            assertThat(internal.getString("message")).startsWith("access_denied");
            c.register("runnel.delivery." + UUID.randomUUID(), bearer());
            assertThat(c.read().getString("message")).startsWith("access_denied");
            // a subscribe to an address this connection did not register
            JsonObject foreign = c.request("runnel.subscribe", new JsonObject().put("group", "g").put("topics",
                    new JsonArray().add("t")).put("address", "runnel.client." + UUID.randomUUID()), bearer());
            assertThat(foreign.getString("message")).startsWith("access_denied");
            assertThat(c.closedByServer()).isTrue();
        }
        try (Frames c = new Frames()) {
            JsonObject heartbeat = c.request("runnel.heartbeat",
                    new JsonObject().put("subscriptionId", UUID.randomUUID().toString()), bearer());
            assertThat(heartbeat.getString("message")).startsWith("access_denied");
            // still open after one refusal: a good request is answered
            assertThat(c.request("runnel.metadata", new JsonObject(), bearer()).getString("type")).isEqualTo("message");
        }
    }

    @Test
    void aDeliveryAddressIsHeldByOneConnection() throws Exception {
        String inbox = "runnel.client." + UUID.randomUUID();
        try (Frames first = new Frames(); Frames second = new Frames()) {
            first.register(inbox, bearer());
            first.write(new JsonObject().put("type", "ping"));
            assertThat(first.read().getString("type")).isEqualTo("pong");
            second.register(inbox, bearer());
            assertThat(second.read().getString("message")).startsWith("address_already_registered");
            // binary deliveries cannot travel in JSON frames: a subscribe must ask for a JSON encoding
            JsonObject binary = first.request("runnel.subscribe", new JsonObject().put("group", "g-binary")
                    .put("topics", new JsonArray().add("t")).put("address", inbox), bearer());
            assertThat(binary.getString("message")).startsWith("invalid_request");
            assertThat(binary.getInteger("failureCode")).isEqualTo(42);
        }
    }

    @Test
    void aDeliveryFailedByTheClientComesAgainAndAnAckedOneDoesNot() throws Exception {
        String topic = RunnelNode.uniqueName("bridge-nack");
        node.createTopic(topic, 1);
        String inbox = "runnel.client." + UUID.randomUUID();
        try (Frames c = new Frames()) {
            c.register(inbox, bearer());
            JsonObject sub = c.request("runnel.subscribe", new JsonObject().put("group", "g-" + topic)
                    .put("topics", new JsonArray().add(topic)).put("address", inbox).put("encoding", "text")
                    .put("autoOffsetReset", "earliest").put("credits", 1), bearer());
            assertThat(sub.getString("type")).as(sub.encode()).isEqualTo("message");
            try (var p = node.producer()) {
                p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, "k", "first")).get(30, TimeUnit.SECONDS);
                p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, "k", "second")).get(30, TimeUnit.SECONDS);
            }
            JsonObject delivery = nextDelivery(c, inbox);
            assertThat(delivery.getJsonObject("body").getString("value")).isEqualTo("first");
            // fail it: the same record comes again
            c.write(new JsonObject().put("type", "send").put("address", delivery.getString("replyAddress"))
                    .put("failureCode", 500).put("message", "not now")
                    .put("headers", new JsonObject().put("authorization", bearer())));
            JsonObject again = nextDelivery(c, inbox);
            assertThat(again.getJsonObject("body").getString("value")).isEqualTo("first");
            assertThat(again.getJsonObject("body").getLong("offset")).isZero();
            c.write(new JsonObject().put("type", "send").put("address", again.getString("replyAddress"))
                    .put("body", new JsonObject()).put("headers", new JsonObject().put("authorization", bearer())));
            JsonObject next = nextDelivery(c, inbox);
            assertThat(next.getJsonObject("body").getString("value")).isEqualTo("second");
            assertThat(next.getJsonObject("body").getLong("offset")).isEqualTo(1);
        }
    }

    private static JsonObject nextDelivery(Frames c, String inbox) throws IOException {
        while (true) {
            JsonObject f = c.read();
            if (inbox.equals(f.getString("address"))) {
                return f;
            }
            assertThat(f.getString("type")).as(f.encode()).isNotEqualTo("err");
        }
    }

    @Test
    void aMalformedFrameClosesOnlyItsConnection() throws Exception {
        try (Frames bystander = new Frames()) {
            byte[][] malformed = {
                    ByteBuffer.allocate(4).putInt(-5).array(),                       // negative length
                    ByteBuffer.allocate(4).putInt(Integer.MAX_VALUE).array(),        // huge length
                    frame("{not json"),                                               // not JSON
                    frame("[1,2,3]"),                                                 // JSON, not an object
                    frame("{\"type\":\"explode\",\"address\":\"runnel.metadata\"}"),  // unknown type
                    frame("{\"type\":\"send\"}"),                                  // no address
            };
            for (byte[] bad : malformed) {
                try (Frames c = new Frames()) {
                    c.raw(bad);
                    JsonObject err = c.read();
                    assertThat(err.getString("type")).isEqualTo("err");
                    assertThat(err.getString("message")).matches("invalid_(frame_length|json|frame): .*");
                    assertThat(c.closedByServer()).isTrue();
                }
                JsonObject ok = bystander.request("runnel.metadata", new JsonObject(), bearer());
                assertThat(ok.getString("type")).isEqualTo("message");
            }
        }
    }

    @Test
    void theSockJsBridgeRefusesMissingCredentialsAndForeignAddressesThenCloses() throws Exception {
        io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
        java.util.concurrent.BlockingQueue<JsonObject> received = new java.util.concurrent.LinkedBlockingQueue<>();
        java.util.concurrent.CompletableFuture<Void> closed = new java.util.concurrent.CompletableFuture<>();
        try {
            // SockJS's raw WebSocket transport: one bridge frame per text message
            // held until the end: Vert.x closes a client (and its sockets) once nothing references it
            io.vertx.core.http.WebSocketClient client = vertx.createWebSocketClient();
            io.vertx.core.http.WebSocket ws = null;
            for (int attempt = 1; ws == null; attempt++) {
                try {
                    // handlers set in the connect callback, on the socket's event loop: set later from this
                    // thread, the first frame could arrive before the handler is seen
                    ws = client
                            .connect(node.broker().sockJsBridgePort(), "127.0.0.1", "/eventbus/websocket")
                            .onSuccess(w -> {
                                // the library writes binary messages (and the refusals here as well)
                                w.frameHandler(f -> {
                                    if (f.isText() || f.isBinary()) {
                                        received.add(new JsonObject(f.binaryData()));
                                    }
                                });
                                w.closeHandler(v -> closed.complete(null));
                            })
                            .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (attempt == 3) {
                        throw e;
                    }
                }
            }
            String reply = UUID.randomUUID().toString();
            ws.writeTextMessage(new JsonObject().put("type", "send").put("address", "runnel.metadata")
                    .put("body", new JsonObject()).put("replyAddress", reply).encode());
            JsonObject refused = nextFor(received, reply);
            assertThat(refused.getString("type")).isEqualTo("err");
            assertThat(refused.getInteger("failureCode")).isEqualTo(58);
            assertThat(refused.getString("message")).startsWith("authentication_failed");

            String ok = UUID.randomUUID().toString();
            ws.writeTextMessage(new JsonObject().put("type", "send").put("address", "runnel.metadata")
                    .put("body", new JsonObject()).put("replyAddress", ok)
                    .put("headers", new JsonObject().put("authorization", bearer())).encode());
            JsonObject answered = nextFor(received, ok);
            assertThat(answered.getString("type")).isEqualTo("rec");
            assertThat(answered.getJsonObject("body").getString("clusterId")).isNotEmpty();

            String internal = UUID.randomUUID().toString();
            ws.writeTextMessage(new JsonObject().put("type", "send").put("address", "runnel.node.1.produce")
                    .put("body", "x").put("replyAddress", internal)
                    .put("headers", new JsonObject().put("authorization", bearer())).encode());
            assertThat(nextFor(received, internal).getString("message")).startsWith("access_denied");
            assertThat(closed).as("open after two refusals").isNotDone();
            ws.writeTextMessage(new JsonObject().put("type", "register").put("address", "runnel.delivery.abcdefgh")
                    .put("headers", new JsonObject().put("authorization", bearer())).encode());
            closed.get(30, TimeUnit.SECONDS);
            client.close();
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    private static JsonObject nextFor(java.util.concurrent.BlockingQueue<JsonObject> q, String address)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + 30_000;
        List<JsonObject> others = new java.util.ArrayList<>();
        while (System.currentTimeMillis() < deadline) {
            JsonObject f = q.poll(1, TimeUnit.SECONDS);
            if (f != null && address.equals(f.getString("address"))) {
                return f;
            }
            if (f != null) {
                others.add(f);
            }
        }
        throw new AssertionError("no frame for " + address + "; received " + others);
    }

    private static byte[] frame(String json) {
        byte[] data = json.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + data.length).putInt(data.length).put(data).array();
    }

    private static long endOffset(String topic) throws Exception {
        org.apache.kafka.common.TopicPartition tp = new org.apache.kafka.common.TopicPartition(topic, 0);
        return node.admin().listOffsets(java.util.Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()))
                .partitionResult(tp).get(30, TimeUnit.SECONDS).offset();
    }
}
