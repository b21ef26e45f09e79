package io.runnel.bridge;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * A thin Java wrapper over the bridge's event-bus addresses for Vert.x applications (on the broker's
 * own Vert.x, or on another one clustered with it). Failures are {@link io.vertx.core.eventbus.ReplyException}s
 * whose {@code failureCode()} is Kafka's error code and whose message starts with the error name.
 *
 * <pre>{@code
 * RunnelEventBusClient runnel = new RunnelEventBusClient(vertx);
 * runnel.produce(BridgeRecord.of("orders", key, value, List.of()))
 *       .onSuccess(r -> System.out.println("written at " + r.partition() + "/" + r.offset()));
 * runnel.subscribe(new RunnelEventBusClient.SubscribeOptions("billing", List.of("orders")),
 *         record -> process(record)) // a Future: success acknowledges, failure redelivers
 *       .onSuccess(subscription -> ...);
 * }</pre>
 *
 * <p>Threading: call from any thread; futures complete on the event bus's usual contexts. A subscription's
 * handler runs on the context that called {@link #subscribe} (or an event loop when called outside one).
 */
public final class RunnelEventBusClient {

    /** How long a request waits for a broker's bridge to be registered (Kafka's max.block.ms default). */
    static final long MAX_BLOCK_MS = 60_000;

    private final Vertx vertx;
    private final String prefix;

    public RunnelEventBusClient(Vertx vertx) {
        this(vertx, BridgeAddresses.DEFAULT_PREFIX);
    }

    public RunnelEventBusClient(Vertx vertx, String prefix) {
        this.vertx = vertx;
        this.prefix = prefix;
    }

    /** Where a produced record was written. */
    public record Produced(String topic, int partition, long offset, long timestamp) {
    }

    /**
     * What to subscribe to. {@code credits} is the most records delivered and not yet acknowledged;
     * {@code sessionTimeoutMs} is how long the broker waits for a heartbeat before the subscription ends;
     * {@code ackTimeoutMs} how long for each acknowledgement before the record is delivered again;
     * {@code ordered} (the default) delivers a partition's next record only once the previous one is
     * acknowledged, false lets up to {@code credits} of one partition be handled at once.
     */
    public record SubscribeOptions(String group, List<String> topics, int credits, int sessionTimeoutMs,
                                   long ackTimeoutMs, String autoOffsetReset, boolean ordered) {

        public SubscribeOptions(String group, List<String> topics) {
            this(group, topics, 100, 10_000, 30_000, "latest", true);
        }

        public SubscribeOptions withCredits(int credits) {
            return new SubscribeOptions(group, topics, credits, sessionTimeoutMs, ackTimeoutMs, autoOffsetReset, ordered);
        }

        public SubscribeOptions withSessionTimeoutMs(int ms) {
            return new SubscribeOptions(group, topics, credits, ms, ackTimeoutMs, autoOffsetReset, ordered);
        }

        public SubscribeOptions withAckTimeoutMs(long ms) {
            return new SubscribeOptions(group, topics, credits, sessionTimeoutMs, ms, autoOffsetReset, ordered);
        }

        public SubscribeOptions withAutoOffsetReset(String reset) {
            return new SubscribeOptions(group, topics, credits, sessionTimeoutMs, ackTimeoutMs, reset, ordered);
        }

        public SubscribeOptions withOrdered(boolean ordered) {
            return new SubscribeOptions(group, topics, credits, sessionTimeoutMs, ackTimeoutMs, autoOffsetReset, ordered);
        }
    }

    /** Produces one record; the broker picks the partition when {@code record.partition()} is -1. */
    public Future<Produced> produce(BridgeRecord record) {
        DeliveryOptions options = new DeliveryOptions().addHeader(BridgeAddresses.H_TOPIC, record.topic());
        if (record.partition() >= 0) {
            options.addHeader(BridgeAddresses.H_PARTITION, Integer.toString(record.partition()));
        }
        if (record.timestamp() >= 0) {
            options.addHeader(BridgeAddresses.H_TIMESTAMP, Long.toString(record.timestamp()));
        }
        if (record.key() != null) {
            options.addHeader(BridgeAddresses.H_KEY, BridgeMessages.encodeBytes(record.key()));
        }
        if (record.headers() != null && !record.headers().isEmpty()) {
            options.addHeader(BridgeAddresses.H_HEADERS, BridgeMessages.encodeHeaders(record.headers()));
        }
        Buffer body = record.value() == null ? null : Buffer.buffer(record.value());
        return this.<JsonObject>request(address(BridgeAddresses.PRODUCE), body, options)
                .map(reply -> {
                    JsonObject j = reply.body();
                    return new Produced(j.getString("topic"), j.getInteger("partition"), j.getLong("offset"),
                            j.getLong("timestamp"));
                });
    }

    /**
     * Produces records in one message (a JSON array of records; keys, values and header values as base64).
     * The answer has one entry per record, in order: {@code {"topic", "partition", "offset", "timestamp"}},
     * or {@code {"topic", "errorCode", "error"}} for a record that failed.
     */
    public Future<JsonArray> produceAll(List<BridgeRecord> records) {
        JsonArray batch = new JsonArray();
        for (BridgeRecord r : records) {
            JsonObject j = new JsonObject().put("topic", r.topic())
                    .put("key", BridgeMessages.encodeBytes(r.key())).put("value", BridgeMessages.encodeBytes(r.value()));
            if (r.partition() >= 0) {
                j.put("partition", r.partition());
            }
            if (r.timestamp() >= 0) {
                j.put("timestamp", r.timestamp());
            }
            if (r.headers() != null && !r.headers().isEmpty()) {
                j.put("headers", new JsonArray(BridgeMessages.encodeHeaders(r.headers())));
            }
            batch.add(j);
        }
        return this.<JsonObject>request(address(BridgeAddresses.PRODUCE), batch, new DeliveryOptions())
                .map(reply -> reply.body().getJsonArray("results"));
    }

    /** Topic metadata; no names means every topic. */
    public Future<JsonObject> metadata(String... topics) {
        JsonObject request = new JsonObject();
        if (topics.length > 0) {
            request.put("topics", new JsonArray(List.of((Object[]) topics)));
        }
        return this.<JsonObject>request(address(BridgeAddresses.METADATA), request, new DeliveryOptions())
                .map(Message::body);
    }

    /**
     * A request that waits, as a Kafka producer waits for metadata up to max.block.ms, while no broker's bridge
     * is registered yet (an application started together with its node): NO_HANDLERS means the message was
     * delivered nowhere, so sending it again cannot duplicate anything.
     */
    private <T> Future<Message<T>> request(String address, Object body, DeliveryOptions options) {
        long deadline = System.nanoTime() + MAX_BLOCK_MS * 1_000_000L;
        Promise<Message<T>> promise = Promise.promise();
        attempt(address, body, options, deadline, 50, promise);
        return promise.future();
    }

    private <T> void attempt(String address, Object body, DeliveryOptions options, long deadline, long backoff,
                             Promise<Message<T>> promise) {
        vertx.eventBus().<T>request(address, body, options).onComplete(ar -> {
            if (ar.failed() && ar.cause() instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS
                    && System.nanoTime() + backoff * 1_000_000L - deadline < 0) {
                vertx.setTimer(backoff, id -> attempt(address, body, options, deadline, Math.min(backoff * 2, 1000),
                        promise));
            } else {
                promise.handle(ar);
            }
        });
    }

    /**
     * Joins {@code options.group()} and delivers its share of the topics' records to {@code handler}, in
     * order per partition. The future the handler returns acknowledges the record when it succeeds (the
     * broker then commits it) and has it delivered again when it fails.
     */
    public Future<Subscription> subscribe(SubscribeOptions options, Function<BridgeRecord, Future<?>> handler) {
        return subscribe(options, 1, "binary", (headers, body) -> List.of(BridgeMessages.fromDelivery(headers, body)),
                records -> handler.apply(records.get(0)));
    }

    /**
     * As {@link #subscribe}, with up to {@code batch} records of one partition in each delivery (in offset order):
     * the future the handler returns acknowledges or fails the whole batch. One message per batch rather than per
     * record, for throughput.
     */
    public Future<Subscription> subscribeBatches(SubscribeOptions options, int batch,
                                                 Function<List<BridgeRecord>, Future<?>> handler) {
        if (batch < 1) {
            return Future.failedFuture(new IllegalArgumentException("batch must be at least 1, got " + batch));
        }
        return subscribe(options, batch, "base64", (headers, body) -> {
            List<BridgeRecord> out = new ArrayList<>();
            if (body instanceof JsonArray array) {
                for (int i = 0; i < array.size(); i++) {
                    out.add(fromJson(array.getJsonObject(i)));
                }
            } else if (body instanceof JsonObject one) {
                out.add(fromJson(one));
            } else {
                throw new IllegalArgumentException("a batch delivery is a JSON array of records");
            }
            return out;
        }, handler);
    }

    /** A delivered record in the bridge's JSON format, keys, values and header values in base64. */
    private static BridgeRecord fromJson(JsonObject j) {
        List<org.apache.kafka.common.header.Header> headers = new ArrayList<>();
        JsonArray hs = j.getJsonArray("headers");
        if (hs != null) {
            for (int i = 0; i < hs.size(); i++) {
                JsonObject h = hs.getJsonObject(i);
                String v = h.getString("value");
                headers.add(new org.apache.kafka.common.header.internals.RecordHeader(h.getString("key"),
                        v == null ? null : java.util.Base64.getDecoder().decode(v)));
            }
        }
        String key = j.getString("key");
        String value = j.getString("value");
        return new BridgeRecord(j.getString("topic"), j.getInteger("partition", -1), j.getLong("offset", -1L),
                j.getLong("timestamp", -1L), j.getString("timestampType"),
                key == null ? null : java.util.Base64.getDecoder().decode(key),
                value == null ? null : java.util.Base64.getDecoder().decode(value), headers);
    }

    private Future<Subscription> subscribe(SubscribeOptions options, int batch, String encoding,
                                           java.util.function.BiFunction<io.vertx.core.MultiMap, Object,
                                                   List<BridgeRecord>> decoder,
                                           Function<List<BridgeRecord>, Future<?>> handler) {
        String deliveryAddress = prefix + ".delivery." + UUID.randomUUID();
        MessageConsumer<Object> consumer = vertx.eventBus().consumer(deliveryAddress, msg -> {
            List<BridgeRecord> records;
            try {
                records = decoder.apply(msg.headers(), msg.body());
            } catch (RuntimeException e) {
                msg.fail(0, "cannot decode the delivery: " + e.getMessage());
                return;
            }
            Future<?> done;
            try {
                done = handler.apply(records);
            } catch (RuntimeException e) {
                done = Future.failedFuture(e);
            }
            (done == null ? Future.succeededFuture() : done).onComplete(ar -> {
                if (ar.succeeded()) {
                    msg.reply(null);
                } else {
                    msg.fail(0, String.valueOf(ar.cause().getMessage()));
                }
            });
        });
        JsonObject request = new JsonObject().put("group", options.group())
                .put("topics", new JsonArray(new ArrayList<Object>(options.topics()))).put("address", deliveryAddress)
                .put("credits", options.credits()).put("sessionTimeoutMs", options.sessionTimeoutMs())
                .put("ackTimeoutMs", options.ackTimeoutMs()).put("autoOffsetReset", options.autoOffsetReset())
                .put("ordered", options.ordered()).put("encoding", encoding).put("batch", batch)
                .put("nodeId", nodeId(vertx));
        return consumer.completion()
                .compose(v -> vertx.eventBus().<JsonObject>request(address(BridgeAddresses.SUBSCRIBE), request))
                .map(reply -> new Subscription(reply.body(), consumer))
                .recover(t -> consumer.unregister().transform(ar -> Future.failedFuture(t)));
    }

    /** A live subscription: the client heartbeats it until {@link #close()}. */
    public final class Subscription {
        private final String id;
        private final MessageConsumer<Object> consumer;
        private final long timerId;
        private final long heartbeatTimeoutMs;
        private volatile JsonObject state;
        private volatile boolean closed;

        private Subscription(JsonObject state, MessageConsumer<Object> consumer) {
            this.id = state.getString("subscriptionId");
            this.consumer = consumer;
            this.state = state;
            long interval = state.getLong("heartbeatIntervalMs");
            // short enough that a heartbeat stuck on a broker that just died is followed by one elsewhere in time
            this.heartbeatTimeoutMs = Math.max(2000, 3 * interval);
            this.timerId = vertx.setPeriodic(interval, t -> heartbeat(true));
        }

        /**
         * Heartbeats do not wait for each other: the event bus spreads them over the brokers, any of which
         * routes them to the group's coordinator. One that failed because its broker died, or while the
         * group's coordinator moved, is sent again at once (the next may reach a live broker).
         */
        private void heartbeat(boolean retry) {
            vertx.eventBus().<JsonObject>request(address(BridgeAddresses.HEARTBEAT), idRequest(),
                            new DeliveryOptions().setSendTimeout(heartbeatTimeoutMs))
                    .onSuccess(reply -> this.state = reply.body())
                    .onFailure(t -> {
                        if (retry && !closed && retriable(t)) {
                            heartbeat(false);
                        }
                    });
        }

        private static boolean retriable(Throwable t) {
            if (!(t instanceof ReplyException re)) {
                return false;
            }
            return re.failureType() != ReplyFailure.RECIPIENT_FAILURE
                    || re.failureCode() == 14 || re.failureCode() == 15 || re.failureCode() == 16;
        }

        public String id() {
            return id;
        }

        /** The partitions assigned as of the last heartbeat: [{"topic", "partition"}]. */
        public JsonArray partitions() {
            return state.getJsonArray("partitions");
        }

        /** Commits everything acknowledged so far; answers the committed offsets. */
        public Future<JsonObject> commit() {
            return vertx.eventBus().<JsonObject>request(address(BridgeAddresses.COMMIT), idRequest()).map(Message::body);
        }

        /** Commits what was acknowledged, leaves the group and stops deliveries. */
        public Future<Void> close() {
            closed = true;
            vertx.cancelTimer(timerId);
            return vertx.eventBus().request(address(BridgeAddresses.UNSUBSCRIBE), idRequest())
                    .transform(ar -> consumer.unregister());
        }

        private JsonObject idRequest() {
            return new JsonObject().put("subscriptionId", id);
        }
    }

    private String address(String name) {
        return BridgeAddresses.address(prefix, name);
    }

    private static String nodeId(Vertx vertx) {
        // lets the broker end the subscription at once when this node leaves the cluster
        if (vertx instanceof VertxInternal internal && internal.isClustered()) {
            return internal.clusterManager().getNodeId();
        }
        return null;
    }
}
