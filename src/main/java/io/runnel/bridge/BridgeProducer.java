package io.runnel.bridge;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.runnel.cluster.ClusterView;
import io.runnel.cluster.PartitionState;
import io.runnel.cluster.ProducerIdManager;
import io.runnel.cluster.TopicInfo;
import io.runnel.config.BrokerConfig;
import io.runnel.log.RecordSet;
import io.runnel.metadata.TopicManager;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.InvalidRequiredAcksException;
import org.apache.kafka.common.errors.LeaderNotAvailableException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Utils;

/**
 * The produce and metadata side of the bridge, on every broker of a cluster. Whichever broker the event
 * bus hands a produce to queues each record on its {@link PartitionProducer} for the record's partition:
 * one idempotent producer per bridge broker (one producer id from the controller-allocated blocks, a
 * sequence per partition), one batch in flight per partition, sent to the partition's leader as the
 * metadata image names it: appended here when this broker leads, else over the leader's per-node address
 * {@code <prefix>.node.<id>.append} (internal: body the record batch, Kafka's v2 format, headers topic,
 * partition, acks, timeout; reply {@code {"baseOffset", "logAppendTime"}}). {@code runnel.metadata} answers
 * from the image (leader, epoch, replicas, ISR) and asks each leader for its offsets over
 * {@code <prefix>.node.<id>.offsets}.
 *
 * <p>Threading: every method runs on the bridge verticle's context; partition owners' results and event-bus
 * replies are hopped back onto it.
 */
final class BridgeProducer {

    /** Default send timeout (Kafka's delivery.timeout.ms is 120 s; a bridge request usually waits less). */
    static final long DEFAULT_SEND_TIMEOUT_MS = 30_000;
    /** How long metadata waits for leaders' offsets before it answers without them. */
    private static final long OFFSETS_TIMEOUT_MS = 2_000;
    /** How long a topic another broker is creating may take to appear here. */
    private static final long RESOLVE_TIMEOUT_MS = 10_000;
    /** A batch's size in the event-bus hop is bounded well below message.max.bytes' default. */
    private static final int MAX_BATCH_BYTES = 512 * 1024;

    private final Vertx vertx;
    private final ContextInternal context;
    private final BrokerConfig config;
    private final TopicManager topics;
    private final PartitionManager partitions;
    private final ClusterView cluster;
    private final String prefix;
    private final int nodeId;
    private final Map<TopicPartition, PartitionProducer> producers = new HashMap<>();
    private final Map<String, Integer> roundRobin = new HashMap<>();
    private final Map<String, Future<TopicInfo>> resolving = new HashMap<>();
    private final PartitionProducer.ProducerIds ids;
    private final PartitionProducer.Transport transport = this::sendToLeader;

    BridgeProducer(Vertx vertx, ContextInternal context, BrokerConfig config, TopicManager topics,
                   PartitionManager partitions, ClusterView cluster, ProducerIdManager producerIds) {
        this.vertx = vertx;
        this.context = context;
        this.config = config;
        this.topics = topics;
        this.partitions = partitions;
        this.cluster = cluster;
        this.prefix = config.getString(BrokerConfig.BRIDGE_ADDRESS_PREFIX);
        this.nodeId = config.nodeId();
        // one producer id per bridge broker, shared by all partitions; a fresh one only when an epoch runs out
        this.ids = new PartitionProducer.ProducerIds() {
            private Future<Long> shared;

            @Override
            public Future<Long> shared() {
                if (shared == null || shared.failed()) {
                    shared = producerIds.next();
                }
                return shared;
            }

            @Override
            public Future<Long> fresh() {
                return producerIds.next();
            }
        };
    }

    // ---- produce (the public address) ----

    void produce(Message<Object> msg) {
        MultiMap h = msg.headers();
        long timeoutMs = sendTimeout(h);
        short acks = acks(h);
        Object body = msg.body();
        if (body instanceof JsonArray array) {
            List<Request> requests = new ArrayList<>(array.size());
            String defaultTopic = h.get(BridgeAddresses.H_TOPIC);
            for (Object o : array) {
                try {
                    if (!(o instanceof JsonObject record)) {
                        throw BridgeException.invalid("each element of a produce array must be a JSON record object");
                    }
                    requests.add(Request.of(BridgeRecordJson.decode(record, defaultTopic)));
                } catch (RuntimeException e) {
                    requests.add(Request.failed(o instanceof JsonObject r && r.getValue("topic") instanceof String s
                            ? s : defaultTopic, e));
                }
            }
            replyBatch(msg, requests, acks, timeoutMs);
        } else if (body instanceof JsonObject record) {
            Request r = Request.of(BridgeRecordJson.decode(record, h.get(BridgeAddresses.H_TOPIC)));
            replyOne(msg, submit(List.of(r), acks, timeoutMs).get(0));
        } else if (BridgeAddresses.FORMAT_RECORDS.equals(h.get(BridgeAddresses.H_FORMAT))) {
            String topic = requiredTopic(h);
            Long partition = partitionHeader(h);
            long timestamp = timestamp(h);
            if (!(body instanceof Buffer buffer)) {
                throw BridgeException.invalid("a '" + BridgeAddresses.FORMAT_RECORDS + "' batch must be a Buffer body");
            }
            List<Request> requests = new ArrayList<>();
            for (byte[][] kv : decodeBinaryBatch(buffer)) {
                requests.add(new Request(topic, partition == null ? null : partition.intValue(),
                        new RecordSet.NewRecord(timestamp, kv[0], kv[1]), null));
            }
            replyBatch(msg, requests, acks, timeoutMs);
        } else {
            String topic = requiredTopic(h);
            Long partition = partitionHeader(h);
            byte[] key = BridgeMessages.decodeBytes(BridgeAddresses.H_KEY, h.get(BridgeAddresses.H_KEY));
            List<Header> headers = BridgeMessages.decodeHeaders(h.get(BridgeAddresses.H_HEADERS));
            byte[] value = BridgeMessages.valueOf(body);
            Request r = new Request(topic, partition == null ? null : partition.intValue(),
                    new RecordSet.NewRecord(timestamp(h), key, value, headers.toArray(new Header[0])), null);
            replyOne(msg, submit(List.of(r), acks, timeoutMs).get(0));
        }
    }

    /** One record to produce, or why it cannot be. */
    private record Request(String topic, Integer partition, RecordSet.NewRecord record, RuntimeException invalid) {
        static Request of(BridgeRecordJson.Decoded d) {
            long ts = d.timestamp() == null ? System.currentTimeMillis() : d.timestamp();
            return new Request(d.topic(), d.partition(), new RecordSet.NewRecord(ts, d.key(), d.value(),
                    d.headers() == null ? new Header[0] : d.headers().toArray(new Header[0])), null);
        }

        static Request failed(String topic, RuntimeException e) {
            return new Request(topic, null, null, e);
        }
    }

    /**
     * Queues the records in order, each on its partition's producer. Topics are resolved (and auto-created)
     * first, every distinct one once, and records of a topic still being resolved wait behind it, so records
     * of one partition are queued in the order they arrived.
     */
    private List<Future<JsonObject>> submit(List<Request> requests, short acks, long timeoutMs) {
        Map<String, Future<TopicInfo>> resolved = new LinkedHashMap<>();
        for (Request r : requests) {
            if (r.invalid() == null) {
                resolved.computeIfAbsent(r.topic(), this::resolve);
            }
        }
        // keyless records without a partition of one message go to one partition (Kafka's sticky partitioner)
        Map<String, Integer> sticky = new HashMap<>();
        List<Future<JsonObject>> results = new ArrayList<>(requests.size());
        for (Request r : requests) {
            if (r.invalid() != null) {
                results.add(Future.failedFuture(r.invalid()));
                continue;
            }
            results.add(resolved.get(r.topic()).compose(t -> {
                int p = partitionFor(t, r.partition(), r.record().key(), sticky);
                TopicPartition tp = new TopicPartition(t.name(), p);
                return producer(tp, t).send(r.record(), acks, timeoutMs);
            }));
        }
        return results;
    }

    private void replyOne(Message<Object> msg, Future<JsonObject> result) {
        result.onComplete(ar -> {
            if (ar.succeeded()) {
                msg.reply(ar.result());
            } else {
                BridgeVerticle.fail(msg, ar.cause());
            }
        });
    }

    private void replyBatch(Message<Object> msg, List<Request> requests, short acks, long timeoutMs) {
        if (requests.isEmpty()) {
            throw BridgeException.invalid("a produce batch must hold at least one record");
        }
        List<Future<JsonObject>> results = submit(requests, acks, timeoutMs);
        Future.join(results).onComplete(done -> {
            JsonArray out = new JsonArray();
            for (int i = 0; i < results.size(); i++) {
                Future<JsonObject> f = results.get(i);
                if (f.succeeded()) {
                    out.add(f.result());
                } else {
                    Errors error = BridgeException.errorOf(f.cause());
                    JsonObject e = new JsonObject().put("topic", requests.get(i).topic());
                    if (requests.get(i).partition() != null) {
                        e.put("partition", requests.get(i).partition());
                    }
                    out.add(e.put("errorCode", error.code()).put("error", BridgeException.message(error, f.cause())));
                }
            }
            msg.reply(new JsonObject().put("results", out));
        });
    }

    private PartitionProducer producer(TopicPartition tp, TopicInfo t) {
        PartitionProducer p = producers.get(tp);
        if (p == null) {
            int max = MAX_BATCH_BYTES;
            String topicMax = t.configs().get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            int limit = topicMax != null ? Integer.parseInt(topicMax) : config.getInt(BrokerConfig.MESSAGE_MAX_BYTES);
            p = new PartitionProducer(tp, context, transport, ids, Math.min(max, limit));
            producers.put(tp, p);
        }
        return p;
    }

    /** Kafka's default partitioner: murmur2 of the key, else one partition in turn per message. */
    private int partitionFor(TopicInfo t, Integer requested, byte[] key, Map<String, Integer> sticky) {
        if (requested != null) {
            if (requested < 0 || requested >= t.partitions()) {
                throw new UnknownTopicOrPartitionException("topic '" + t.name() + "' has " + t.partitions()
                        + " partition(s); partition " + requested + " does not exist");
            }
            return requested;
        }
        if (key != null) {
            return Utils.toPositive(Utils.murmur2(key)) % t.partitions();
        }
        return sticky.computeIfAbsent(t.name(), n -> {
            int next = roundRobin.merge(n, 1, Integer::sum);
            return Utils.toPositive(next) % t.partitions();
        });
    }

    /**
     * The topic, auto-created when allowed, else UNKNOWN_TOPIC_OR_PARTITION naming it. A topic this broker has
     * not seen yet may have been created through another: it catches up with the quorum before deciding.
     */
    private Future<TopicInfo> resolve(String name) {
        TopicInfo t = topics.topic(name);
        if (t != null) {
            return Future.succeededFuture(t);
        }
        Future<TopicInfo> pending = resolving.get(name);
        if (pending != null) {
            return pending;
        }
        try {
            Topic.validate(name);
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        Future<TopicInfo> f = here(resolveOrCreate(name, System.nanoTime() + RESOLVE_TIMEOUT_MS * 1_000_000L));
        resolving.put(name, f);
        f.onComplete(ar -> resolving.remove(name));
        return f;
    }

    /**
     * Catches up with the quorum, then creates the topic unless it is known. Brokers auto-create concurrently:
     * TOPIC_ALREADY_EXISTS means another one won, and the topic is known here once this broker has applied
     * the record, so it is looked up again (after catching up, for a short while) rather than failed.
     */
    private Future<TopicInfo> resolveOrCreate(String name, long deadline) {
        return topics.catchUp().otherwiseEmpty().compose(v -> {
            TopicInfo known = topics.topic(name);
            if (known != null) {
                return Future.succeededFuture(known);
            }
            if (!config.getBoolean(BrokerConfig.AUTO_CREATE_TOPICS_ENABLE) || Topic.isInternal(name)) {
                return Future.failedFuture(new UnknownTopicOrPartitionException("topic '" + name
                        + "' does not exist and auto.create.topics.enable is false"));
            }
            return topics.autoCreate(name).recover(t -> {
                if (!(t instanceof TopicExistsException) || System.nanoTime() - deadline > 0) {
                    return Future.failedFuture(t);
                }
                Promise<TopicInfo> again = Promise.promise();
                vertx.setTimer(100, id -> resolveOrCreate(name, deadline).onComplete(again));
                return again.future();
            });
        });
    }

    // ---- the hop to the leader ----

    /**
     * One attempt: the leader as this broker's metadata image names it now. Completes on the owner's worker for a
     * local append, on this context for another broker's.
     */
    private Future<PartitionProducer.Appended> sendToLeader(TopicPartition tp, RecordSet batch, short acks,
                                                            long timeoutMs) {
        PartitionState s = cluster == null ? null : cluster.state(tp);
        int leader = s == null ? (partitions.get(tp) != null ? nodeId : -1) : s.leader();
        if (leader < 0) {
            return Future.failedFuture(new LeaderNotAvailableException("partition " + tp + " has no leader yet"));
        }
        if (leader == nodeId) {
            // completes on the owner's worker: the partition's producer hops back itself, once
            return appendHere(tp, batch, acks, timeoutMs);
        }
        DeliveryOptions options = new DeliveryOptions().setSendTimeout(timeoutMs + 500)
                .addHeader(BridgeAddresses.H_TOPIC, tp.topic())
                .addHeader(BridgeAddresses.H_PARTITION, Integer.toString(tp.partition()))
                .addHeader(BridgeAddresses.H_ACKS, Short.toString(acks))
                .addHeader(BridgeAddresses.H_TIMEOUT, Long.toString(timeoutMs));
        ByteBuffer bytes = batch.buffer().duplicate();
        byte[] copy = new byte[bytes.remaining()];
        bytes.get(copy);
        return here(vertx.eventBus().<JsonObject>request(BridgeAddresses.nodeAddress(prefix, leader,
                BridgeAddresses.APPEND), Buffer.buffer(copy), options).map(m -> new PartitionProducer.Appended(
                m.body().getLong("baseOffset"), m.body().getLong("logAppendTime", -1L))));
    }

    private Future<PartitionProducer.Appended> appendHere(TopicPartition tp, RecordSet batch, short acks,
                                                          long timeoutMs) {
        PartitionOwner owner = partitions.get(tp);
        if (owner == null) {
            return Future.failedFuture(new NotLeaderOrFollowerException("partition " + tp + " is not hosted on broker "
                    + nodeId + " (yet)"));
        }
        return owner.append(batch, acks, timeoutMs)
                .map(r -> new PartitionProducer.Appended(r.firstOffset(), r.logAppendTime()));
    }

    /** The leader's side of the hop: {@code <prefix>.node.<id>.append}. */
    void append(Message<Object> msg) {
        MultiMap h = msg.headers();
        String topic = requiredTopic(h);
        Long partition = partitionHeader(h);
        if (partition == null || !(msg.body() instanceof Buffer body)) {
            throw BridgeException.invalid("an append needs a partition header and a record batch body");
        }
        short acks = acks(h);
        long timeoutMs = sendTimeout(h);
        RecordSet batch = RecordSet.wrap(ByteBuffer.wrap(body.getBytes()));
        appendHere(new TopicPartition(topic, partition.intValue()), batch, acks, timeoutMs).onComplete(ar -> {
            if (ar.succeeded()) {
                msg.reply(new JsonObject().put("baseOffset", ar.result().baseOffset())
                        .put("logAppendTime", ar.result().logAppendTime()));
            } else {
                BridgeVerticle.fail(msg, ar.cause());
            }
        });
    }

    // ---- metadata ----

    /** {@code runnel.metadata}: leaders, replicas and ISR from the image; offsets from each leader. */
    void metadata(Message<Object> msg) {
        JsonObject body = msg.body() == null ? new JsonObject() : BridgeVerticle.json(msg);
        Object topicsField = body.getValue("topics");
        if (topicsField != null && !(topicsField instanceof JsonArray)) {
            throw BridgeException.invalid("'topics' must be an array of topic names");
        }
        List<String> names = new ArrayList<>();
        if (topicsField == null) {
            topics.topics().forEach(t -> {
                if (!Topic.isInternal(t.name())) {
                    names.add(t.name());
                }
            });
            names.sort(null);
        } else {
            ((JsonArray) topicsField).forEach(o -> names.add(String.valueOf(o)));
        }
        JsonArray out = new JsonArray();
        Map<Integer, JsonArray> askLeaders = new HashMap<>();
        Map<TopicPartition, JsonObject> entries = new HashMap<>();
        for (String name : names) {
            TopicInfo t = topics.topic(name);
            JsonObject entry = new JsonObject().put("name", name);
            if (t == null) {
                Errors e = Errors.UNKNOWN_TOPIC_OR_PARTITION;
                out.add(entry.put("errorCode", e.code()).put("error", e.name()));
                continue;
            }
            JsonArray parts = new JsonArray();
            for (int p = 0; p < t.partitions(); p++) {
                TopicPartition tp = new TopicPartition(name, p);
                PartitionState s = cluster == null ? null : cluster.state(tp);
                PartitionOwner local = partitions.get(tp);
                JsonObject pj = new JsonObject().put("partition", p);
                if (s != null) {
                    pj.put("leader", s.leader()).put("leaderEpoch", s.leaderEpoch())
                            .put("replicas", new JsonArray(new ArrayList<>(s.replicas())))
                            .put("isr", new JsonArray(new ArrayList<>(s.isr())));
                } else if (local != null) {
                    pj.put("leader", nodeId).put("leaderEpoch", local.leaderEpoch());
                } else {
                    pj.put("leader", -1);
                }
                int leader = pj.getInteger("leader");
                if (leader == nodeId && local != null && local.isLeader()) {
                    pj.put("logStartOffset", local.log().logStartOffset()).put("highWatermark", local.highWatermark());
                } else if (leader >= 0 && leader != nodeId) {
                    askLeaders.computeIfAbsent(leader, l -> new JsonArray())
                            .add(new JsonObject().put("topic", name).put("partition", p));
                    entries.put(tp, pj);
                }
                parts.add(pj);
            }
            out.add(entry.put("errorCode", 0).put("topicId", t.id().toString())
                    .put("replicationFactor", (int) t.replicationFactor()).put("partitions", parts));
        }
        List<Future<?>> asks = new ArrayList<>();
        askLeaders.forEach((leader, list) -> asks.add(here(vertx.eventBus().<JsonObject>request(
                BridgeAddresses.nodeAddress(prefix, leader, BridgeAddresses.OFFSETS),
                new JsonObject().put("partitions", list), new DeliveryOptions().setSendTimeout(OFFSETS_TIMEOUT_MS)))
                .onSuccess(reply -> {
                    for (Object o : reply.body().getJsonArray("partitions", new JsonArray())) {
                        JsonObject r = (JsonObject) o;
                        JsonObject pj = entries.get(new TopicPartition(r.getString("topic"), r.getInteger("partition")));
                        if (pj != null) {
                            pj.put("logStartOffset", r.getLong("logStartOffset"))
                                    .put("highWatermark", r.getLong("highWatermark"));
                        }
                    }
                })));
        // a leader that does not answer in time leaves its partitions' offsets out; the leaders are still true
        Future.join(asks).onComplete(done -> msg.reply(new JsonObject().put("clusterId", config.clusterId())
                .put("nodeId", nodeId).put("topics", out)));
    }

    /** The leader's side of metadata: {@code <prefix>.node.<id>.offsets}, the partitions it leads. */
    void offsets(Message<Object> msg) {
        JsonArray out = new JsonArray();
        for (Object o : BridgeVerticle.json(msg).getJsonArray("partitions", new JsonArray())) {
            JsonObject r = (JsonObject) o;
            PartitionOwner owner = partitions.get(new TopicPartition(r.getString("topic"), r.getInteger("partition")));
            if (owner != null && owner.isLeader()) {
                out.add(r.copy().put("logStartOffset", owner.log().logStartOffset())
                        .put("highWatermark", owner.highWatermark()));
            }
        }
        msg.reply(new JsonObject().put("partitions", out));
    }

    // ---- helpers ----

    /**
     * The binary batch form ({@code format: records}): records back to back, each a big-endian int32 key
     * length (-1 for a null key), the key, an int32 value length (-1 for null), the value.
     */
    static List<byte[][]> decodeBinaryBatch(Buffer buffer) {
        List<byte[][]> out = new ArrayList<>();
        int pos = 0;
        int n = buffer.length();
        while (pos < n) {
            byte[][] kv = new byte[2][];
            for (int i = 0; i < 2; i++) {
                if (n - pos < 4) {
                    throw BridgeException.invalid("record " + out.size() + " of the batch is truncated at byte " + pos);
                }
                int len = buffer.getInt(pos);
                pos += 4;
                if (len < -1 || len > n - pos) {
                    throw BridgeException.invalid("record " + out.size() + " of the batch has a "
                            + (i == 0 ? "key" : "value") + " length of " + len + " with " + (n - pos)
                            + " byte(s) left");
                }
                if (len >= 0) {
                    kv[i] = buffer.getBytes(pos, pos + len);
                    pos += len;
                }
            }
            out.add(kv);
        }
        if (out.isEmpty()) {
            throw BridgeException.invalid("a '" + BridgeAddresses.FORMAT_RECORDS + "' batch must hold at least one record");
        }
        return out;
    }

    /** Encodes records in the binary batch form ({@code byte[][]{key, value}} each). */
    static Buffer encodeBinaryBatch(List<byte[][]> records) {
        Buffer b = Buffer.buffer();
        for (byte[][] kv : records) {
            for (byte[] bytes : kv) {
                b.appendInt(bytes == null ? -1 : bytes.length);
                if (bytes != null) {
                    b.appendBytes(bytes);
                }
            }
        }
        return b;
    }

    private static String requiredTopic(MultiMap h) {
        String topic = h.get(BridgeAddresses.H_TOPIC);
        if (topic == null || topic.isEmpty()) {
            throw BridgeException.invalid("header '" + BridgeAddresses.H_TOPIC + "' is required");
        }
        return topic;
    }

    private static Long partitionHeader(MultiMap h) {
        Long p = BridgeMessages.longHeader(h, BridgeAddresses.H_PARTITION);
        if (p != null && (p < 0 || p > Integer.MAX_VALUE)) {
            throw BridgeException.invalid("header '" + BridgeAddresses.H_PARTITION + "' must not be negative");
        }
        return p;
    }

    private static long timestamp(MultiMap h) {
        Long ts = BridgeMessages.longHeader(h, BridgeAddresses.H_TIMESTAMP);
        if (ts != null && ts < 0) {
            throw BridgeException.invalid("header '" + BridgeAddresses.H_TIMESTAMP + "' must not be negative");
        }
        return ts == null ? System.currentTimeMillis() : ts;
    }

    private static short acks(MultiMap h) {
        Long acks = BridgeMessages.longHeader(h, BridgeAddresses.H_ACKS);
        if (acks != null && acks != -1 && acks != 1) {
            throw new InvalidRequiredAcksException("acks must be -1 (all) or 1 (leader), got " + acks);
        }
        return acks == null ? -1 : acks.shortValue();
    }

    private static long sendTimeout(MultiMap h) {
        Long t = BridgeMessages.longHeader(h, BridgeAddresses.H_TIMEOUT);
        if (t != null && t < 1) {
            throw BridgeException.invalid("header '" + BridgeAddresses.H_TIMEOUT + "' must be positive (milliseconds)");
        }
        return t == null ? DEFAULT_SEND_TIMEOUT_MS : t;
    }

    private <T> Future<T> here(Future<T> f) {
        Promise<T> promise = context.promise();
        f.onComplete(promise);
        return promise.future();
    }
}
