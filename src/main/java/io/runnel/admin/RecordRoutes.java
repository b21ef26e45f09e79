package io.runnel.admin;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import io.runnel.cluster.TopicInfo;
import io.runnel.log.LogAppendResult;
import io.runnel.log.LogBatch;
import io.runnel.log.LogSlice;
import io.runnel.log.RecordSet;
import io.runnel.metrics.BrokerMetrics;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.apache.kafka.common.utils.Utils;

/**
 * {@code /api/v1/topics/{topic}/records} (produce, read) and {@code /tail} (server-sent events).
 *
 * <p>Produce builds one v2 batch per partition and appends it through {@link PartitionOwner#append}
 * with acks=all, the path and validation a Kafka producer's batch takes. Keys choose partitions with
 * the Java producer's murmur2 hash, so a key lands where KafkaProducer would put it.
 *
 * <p>Reads copy log slices into memory, which waits on the disk: that runs in {@code executeBlocking}
 * and the answer is written back on the request's event loop.
 */
final class RecordRoutes {

    static final int MAX_LIMIT = 1000;

    private final Vertx vertx;
    private final ClusterView view;
    private final PartitionManager partitions;
    private final BrokerMetrics metrics;
    private final AtomicInteger roundRobin = new AtomicInteger();

    RecordRoutes(Vertx vertx, ClusterView view, PartitionManager partitions, BrokerMetrics metrics) {
        this.vertx = vertx;
        this.view = view;
        this.partitions = partitions;
        this.metrics = metrics;
    }

    void mount(Router api) {
        api.post("/topics/:topic/records").handler(this::produce);
        api.get("/topics/:topic/records").handler(this::read);
        api.get("/topics/:topic/tail").handler(this::tail);
    }

    private void produce(RoutingContext ctx) {
        Responses.handle(ctx, 200, () -> {
            TopicInfo topic = view.topic(ctx.pathParam("topic"));
            if (org.apache.kafka.common.internals.Topic.isInternal(topic.name())) {
                throw new HttpError(403, "internal_topic", "Only the broker writes internal topic " + topic.name(), null);
            }
            JsonObject body = JsonInput.body(ctx);
            String encoding = JsonInput.encoding(JsonInput.optionalString(body, "encoding", "encoding"), "encoding");
            JsonArray list = JsonInput.optionalArray(body, "records", "records");
            List<RecordCodec.Incoming> incoming = new ArrayList<>();
            if (list == null) {
                incoming.add(RecordCodec.parse(body, encoding, "record"));
            } else {
                if (list.isEmpty()) {
                    throw HttpError.badField("records", "records must hold at least one record");
                }
                for (int i = 0; i < list.size(); i++) {
                    if (!(list.getValue(i) instanceof JsonObject r)) {
                        throw HttpError.badField("records[" + i + "]", "records[" + i + "] must be an object");
                    }
                    incoming.add(RecordCodec.parse(r, encoding, "records[" + i + "]"));
                }
            }
            // group by partition, keeping each record's place in the answer
            int n = topic.partitions();
            List<List<Integer>> byPartition = new ArrayList<>();
            for (int p = 0; p < n; p++) {
                byPartition.add(new ArrayList<>());
            }
            for (int i = 0; i < incoming.size(); i++) {
                RecordCodec.Incoming r = incoming.get(i);
                int p;
                if (r.partition() != null) {
                    p = r.partition();
                    if (p < 0 || p >= n) {
                        String field = list == null ? "partition" : "records[" + i + "].partition";
                        throw HttpError.badField(field, "partition " + p + " does not exist; topic '" + topic.name()
                                + "' has " + n + " partition(s)");
                    }
                } else if (r.key() != null) {
                    p = Utils.toPositive(Utils.murmur2(r.key())) % n;
                } else {
                    p = Utils.toPositive(roundRobin.getAndIncrement()) % n;
                }
                byPartition.get(p).add(i);
            }
            long[] offsets = new long[incoming.size()];
            int[] partitionOf = new int[incoming.size()];
            List<Future<Void>> appends = new ArrayList<>();
            BrokerMetrics.TopicMeters meters = metrics.topic(topic.name());
            for (int p = 0; p < n; p++) {
                List<Integer> idx = byPartition.get(p);
                if (idx.isEmpty()) {
                    continue;
                }
                PartitionOwner owner = partitions.get(new TopicPartition(topic.name(), p));
                if (owner == null) {
                    throw new HttpError(503, "partition_offline", "partition " + p + " of '" + topic.name()
                            + "' is not online", null);
                }
                RecordSet.NewRecord[] batch = new RecordSet.NewRecord[idx.size()];
                for (int k = 0; k < idx.size(); k++) {
                    batch[k] = incoming.get(idx.get(k)).record();
                }
                RecordSet records = RecordSet.of(batch);
                int partition = p;
                appends.add(owner.append(records, (short) -1).map((LogAppendResult r) -> {
                    meters.bytesIn().increment(r.sizeInBytes());
                    meters.recordsIn().increment(r.recordCount());
                    for (int k = 0; k < idx.size(); k++) {
                        offsets[idx.get(k)] = r.firstOffset() + k;
                        partitionOf[idx.get(k)] = partition;
                    }
                    return null;
                }));
            }
            return Future.all(appends).map(all -> {
                JsonArray out = new JsonArray();
                for (int i = 0; i < offsets.length; i++) {
                    out.add(new JsonObject().put("partition", partitionOf[i]).put("offset", offsets[i]));
                }
                return new JsonObject().put("topic", topic.name()).put("offsets", out);
            });
        });
    }

    private void read(RoutingContext ctx) {
        Responses.handle(ctx, 200, () -> {
            TopicInfo topic = view.topic(ctx.pathParam("topic"));
            int partition = JsonInput.queryInt(ctx, "partition", true);
            PartitionOwner owner = owner(topic, partition);
            Long offset = JsonInput.queryLong(ctx, "offset", false);
            Integer limit = JsonInput.queryInt(ctx, "limit", false);
            Integer maxBytes = JsonInput.queryInt(ctx, "maxBytes", false);
            boolean base64 = "base64".equals(JsonInput.encoding(ctx.request().getParam("encoding"), "encoding"));
            int max = limit == null ? 100 : limit;
            if (max < 1 || max > MAX_LIMIT) {
                throw HttpError.badField("limit", "limit must be between 1 and " + MAX_LIMIT);
            }
            int bytes = maxBytes == null ? 1024 * 1024 : maxBytes;
            if (bytes < 1) {
                throw HttpError.badField("maxBytes", "maxBytes must be positive");
            }
            long from = offset == null ? owner.log().logStartOffset() : offset;
            long start = owner.log().logStartOffset();
            long end = owner.log().logEndOffset();
            if (from < start || from > end) {
                throw HttpError.badField("offset", "offset " + from + " is out of range: log start offset " + start
                        + ", log end offset " + end);
            }
            return vertx.executeBlocking(() -> readBlocking(owner, from, max, bytes, base64), false)
                    .recover(t -> Future.failedFuture(t instanceof OffsetOutOfRangeException
                            ? HttpError.badField("offset", t.getMessage()) : t))
                    .map(r -> new JsonObject().put("topic", topic.name()).put("partition", partition)
                            .put("records", new JsonArray(new ArrayList<>(r.records()))).put("nextOffset", r.nextOffset())
                            .put("highWatermark", owner.highWatermark())
                            .put("logStartOffset", owner.log().logStartOffset()));
        });
    }

    PartitionOwner owner(TopicInfo topic, int partition) {
        if (partition < 0 || partition >= topic.partitions()) {
            throw HttpError.notFound("unknown_partition", "Topic '" + topic.name() + "' has no partition "
                    + partition + " (it has " + topic.partitions() + ")");
        }
        PartitionOwner owner = partitions.get(new TopicPartition(topic.name(), partition));
        if (owner == null) {
            throw new HttpError(503, "partition_offline", "partition " + partition + " is not online", null);
        }
        return owner;
    }

    /** What one read returned: records and the offset to continue from. */
    record ReadResult(List<JsonObject> records, long nextOffset) {
    }

    /**
     * Reads committed records from {@code from}; blocks on the disk (run off the event loop). Counts
     * what it returns as records and bytes out of the topic.
     */
    ReadResult readBlocking(PartitionOwner owner, long from, int limit, int maxBytes, boolean base64) {
        int partition = owner.topicPartition().partition();
        long hw = owner.highWatermark();
        List<JsonObject> out = new ArrayList<>();
        long position = from;
        long bytes = 0;
        while (out.size() < limit && position < hw && bytes < maxBytes) {
            LogSlice slice = owner.read(position, (int) Math.min(Integer.MAX_VALUE, maxBytes - bytes), true).records();
            if (slice.size() == 0) {
                break;
            }
            RecordSet records = slice.copyAndRelease();
            bytes += slice.size();
            List<JsonObject> got = RecordCodec.decode(records, partition, position, hw, limit - out.size(), base64);
            out.addAll(got);
            long next = position;
            for (LogBatch b : records.batches()) {
                next = Math.max(next, b.nextOffset());
            }
            if (out.size() >= limit && !got.isEmpty()) {
                next = got.get(got.size() - 1).getLong("offset") + 1;
            }
            if (next <= position) {
                break;
            }
            position = next;
        }
        if (!out.isEmpty()) {
            BrokerMetrics.TopicMeters meters = metrics.topic(owner.topicPartition().topic());
            meters.recordsOut().increment(out.size());
            meters.bytesOut().increment(bytes);
        }
        return new ReadResult(out, position);
    }

    private void tail(RoutingContext ctx) {
        TopicInfo topic;
        List<PartitionOwner> owners = new ArrayList<>();
        int backlog;
        try {
            topic = view.topic(ctx.pathParam("topic"));
            Integer partition = JsonInput.queryInt(ctx, "partition", false);
            Integer last = JsonInput.queryInt(ctx, "last", false);
            backlog = last == null ? 10 : last;
            if (backlog < 0 || backlog > MAX_LIMIT) {
                throw HttpError.badField("last", "last must be between 0 and " + MAX_LIMIT);
            }
            if (partition != null) {
                owners.add(owner(topic, partition));
            } else {
                for (int p = 0; p < topic.partitions(); p++) {
                    PartitionOwner o = partitions.get(new TopicPartition(topic.name(), p));
                    if (o != null) {
                        owners.add(o);
                    }
                }
            }
        } catch (RuntimeException e) {
            Responses.fail(ctx, e);
            return;
        }
        new LiveTail(vertx, ctx, owners, backlog, this).start();
    }
}
