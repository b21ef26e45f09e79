package io.runnel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import io.runnel.cluster.PartitionState;
import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.BrokerRegistration;
import io.runnel.metadata.MetadataDelta;
import io.runnel.metadata.MetadataFutures;
import io.runnel.metadata.MetadataImage;
import io.runnel.metadata.MetadataQuorum;
import io.runnel.metadata.MetadataRecords;
import io.runnel.metadata.MetadataStateMachine;
import io.runnel.metadata.QuorumController;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionMetadata;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the metadata log into what this broker hosts, as KRaft's broker metadata publisher does: it
 * registers the broker (a new incarnation at every start), asks to be unfenced once it has applied the log
 * up to its registration, and from then on opens, leads, follows, reconfigures and removes partitions in log
 * order. Until then it acts on nothing: a broker restarted while cut off neither leads nor coordinates
 * anything it held before, since that needs a record it has not seen. A directory whose topic id the image
 * does not hold is removed once caught up, never adopted.
 *
 * <p>Threading: everything runs on the metadata context (a worker context: directory scans and deletes may
 * block there); state machine callbacks hop onto it in log order.
 */
public final class BrokerMetadataPublisher implements MetadataStateMachine.Listener {

    private static final Logger LOG = LoggerFactory.getLogger(BrokerMetadataPublisher.class);
    private static final long RETRY_MS = 1000;

    private final Context context;
    private final int nodeId;
    private final Uuid incarnation;
    private final MetadataQuorum quorum;
    private final MetadataImage image;
    private final PartitionManager partitions;
    private QuorumController controller;
    private final Promise<Void> ready = Promise.promise();
    private volatile boolean caughtUp;
    private boolean closing;
    private boolean unfencing;
    private Future<Void> tail = Future.succeededFuture();
    private volatile long publishedOffset = -1;
    private final PriorityQueue<Waiter> waiters = new PriorityQueue<>();

    private record Waiter(long offset, CompletableFuture<Void> future) implements Comparable<Waiter> {
        @Override
        public int compareTo(Waiter o) {
            return Long.compare(offset, o.offset);
        }
    }

    public BrokerMetadataPublisher(Context context, int nodeId, Uuid incarnation, MetadataQuorum quorum,
                            PartitionManager partitions) {
        this.context = context;
        this.nodeId = nodeId;
        this.incarnation = incarnation;
        this.quorum = quorum;
        this.image = quorum.stateMachine().image();
        this.partitions = partitions;
    }

    void controller(QuorumController c) {
        this.controller = c;
    }

    /** Whether this broker has caught up with the metadata log since it started. Any thread. */
    public boolean caughtUp() {
        return caughtUp;
    }

    /** Completes once this broker is registered, unfenced and hosts what the image assigns it. */
    public Future<Void> ready() {
        return ready.future();
    }

    /**
     * Registers this broker with its Kafka endpoint, then asks to be unfenced; both are retried every
     * second while the quorum is unavailable or the node id is still held by an unfenced older process.
     */
    public void register(String host, int port) {
        register(host, port, java.util.Map.of());
    }

    /** @param listeners every listener's advertised host:port by name; host and port are the inter-broker one */
    public void register(String host, int port, java.util.Map<String, String> listeners) {
        context.runOnContext(v -> attempt(() -> propose(MetadataRecords.registerBroker(nodeId, incarnation, host, port,
                listeners))
                .onSuccess(r -> LOG.info("Broker {} registered (epoch {}), incarnation {}", nodeId, r.getLong("epoch"),
                        incarnation))
                .compose(r -> unfence())
                .onSuccess(x -> becomeReady())));
    }

    private Future<io.vertx.core.json.JsonObject> propose(io.vertx.core.json.JsonObject record) {
        return MetadataFutures.on(context, quorum.propose(record));
    }

    /**
     * Tells the controller, through the metadata log, that {@code logDir} went offline with these replicas
     * (Kafka's broker heartbeat with offline log directories); retried every second until it is in the log
     * or this process stops or is replaced. Any thread.
     */
    public void reportLogDirOffline(Path logDir, java.util.Map<Uuid, List<Integer>> replicas) {
        context.runOnContext(v -> attempt(() -> propose(MetadataRecords.logDirOffline(nodeId, incarnation,
                logDir.toString(), replicas)).onSuccess(r -> LOG.info("The controller took log directory {} of broker {}"
                + " offline ({} partition(s) changed leader or ISR)", logDir, nodeId, r.getInteger("changed")))));
    }

    private Future<Void> unfence() {
        return propose(MetadataRecords.unfenceBroker(nodeId, incarnation)).mapEmpty();
    }

    /** Runs {@code step} until it succeeds (on this context), every {@value #RETRY_MS} ms. */
    private void attempt(java.util.function.Supplier<Future<?>> step) {
        if (closing) {
            return;
        }
        step.get().onFailure(t -> {
            if (closing) {
                return;
            }
            LOG.warn("Broker {}: metadata request not accepted yet (tried again in {} ms): {}", nodeId, RETRY_MS, t.toString());
            context.owner().setTimer(RETRY_MS, id -> context.runOnContext(v -> attempt(step)));
        });
    }

    private void becomeReady() {
        if (caughtUp) {
            return;
        }
        caughtUp = true;
        LOG.info("Broker {} caught up with the metadata log at offset {}: unfenced", nodeId, image.offset());
        removeStrayDirectories();
        sync().onComplete(ar -> ready.tryComplete());
    }

    @Override
    public void onDelta(MetadataDelta delta) {
        context.runOnContext(v -> publish(delta));
    }

    @Override
    public void onReset() {
        context.runOnContext(v -> {
            if (caughtUp) {
                sync();
            }
        });
    }

    @Override
    public void onLeaderChanged(RaftPeerId leader) {
        LOG.info("Metadata quorum leader (controller) is now {}", leader);
    }

    @Override
    public void onLeaderReady() {
        QuorumController c = controller;
        if (c != null) {
            c.leaderReady();
        }
    }

    private void publish(MetadataDelta delta) {
        if (!caughtUp) {
            return; // the whole image is applied when this broker is unfenced
        }
        List<Future<?>> work = new ArrayList<>();
        for (TopicInfo t : delta.deletedTopics()) {
            work.add(removeTopic(t.id()));
        }
        for (TopicInfo t : delta.changedTopics()) {
            work.add(partitions.updateConfigs(t.name(), t.configs()));
        }
        for (MetadataDelta.PartitionChange c : delta.partitions()) {
            work.add(apply(c.topic(), c.partition(), c.state()));
        }
        if (delta.brokersChanged()) {
            checkSelf();
        }
        completeAfter(work, delta.offset());
    }

    /** Makes the hosted partitions match the whole image (after catching up, or a snapshot from the leader). */
    private Future<Void> sync() {
        long offset = image.offset();
        List<Future<?>> work = new ArrayList<>();
        for (MetadataImage.TopicImage t : image.topics()) {
            for (int p = 0; p < t.partitions().size(); p++) {
                work.add(apply(t.info(), p, t.partitions().get(p)));
            }
        }
        for (PartitionOwner o : List.copyOf(partitions.all())) {
            MetadataImage.TopicImage t = image.topic(o.topicId());
            int p = o.topicPartition().partition();
            if (t == null || p >= t.partitions().size() || !t.partitions().get(p).replicas().contains(nodeId)) {
                work.add(partitions.delete(o.topicPartition()));
            }
        }
        checkSelf();
        return completeAfter(work, offset);
    }

    private Future<?> apply(TopicInfo topic, int partition, PartitionState state) {
        TopicPartition tp = new TopicPartition(topic.name(), partition);
        PartitionOwner owner = partitions.get(tp);
        Future<Void> cleared = owner != null && !owner.topicId().equals(topic.id())
                ? partitions.delete(tp) : Future.succeededFuture();
        if (state.replicas().contains(nodeId) && partitions.isOffline(tp) && owner == null) {
            return cleared; // in an offline log directory: nothing is done with it until the process restarts
        }
        if (state.replicas().contains(nodeId)) {
            return cleared.compose(v -> partitions.applyState(tp, topic.id(), topic.configs(), state))
                    .onFailure(t -> LOG.warn("Applying {} to {} failed", state, tp, t));
        }
        return owner == null ? cleared : partitions.delete(tp);
    }

    private Future<?> removeTopic(Uuid topicId) {
        List<Future<Void>> deletes = new ArrayList<>();
        for (PartitionOwner o : List.copyOf(partitions.all())) {
            if (o.topicId().equals(topicId)) {
                deletes.add(partitions.delete(o.topicPartition()));
            }
        }
        return Future.join(deletes);
    }

    /** If the controller fenced this live broker (a pause, a lost connection), ask again to be unfenced. */
    private void checkSelf() {
        BrokerRegistration me = image.broker(nodeId);
        if (me == null || closing || unfencing || !caughtUp) {
            return;
        }
        if (!me.incarnation().equals(incarnation)) {
            LOG.error("Node id {} is registered by another process (incarnation {}); this one is {}", nodeId,
                    me.incarnation(), incarnation);
            return;
        }
        if (me.fenced()) {
            unfencing = true;
            context.owner().setTimer(RETRY_MS, id -> context.runOnContext(v -> unfence().onComplete(ar -> {
                unfencing = false;
                if (ar.failed()) {
                    LOG.info("Broker {} not unfenced yet: {}", nodeId, ar.cause().toString());
                }
                checkSelf();
            })));
        }
    }

    /**
     * Partition directories of topics the image does not hold (deleted while this broker was away, or
     * re-created since under the same name): removed, never adopted. Directories of an older layout without
     * a {@code partition.metadata} are left for {@link PartitionManager#open} to adopt if their topic exists.
     */
    private void removeStrayDirectories() {
        for (Path dir : partitions.logDirs()) {
            try (Stream<Path> children = Files.list(dir)) {
                for (Path child : children.toList()) {
                    if (!Files.isDirectory(child) || !Files.exists(child.resolve(PartitionMetadata.FILE_NAME))) {
                        continue;
                    }
                    try {
                        Uuid id = PartitionMetadata.read(child);
                        if (id != null && image.topic(id) == null && !hosted(child)) {
                            LOG.info("Removing {}: its topic ({}) no longer exists", child, id);
                            PartitionMetadata.deleteRecursively(child);
                        }
                    } catch (RuntimeException e) {
                        LOG.warn("Cannot check {} against the metadata: {}", child, e.toString());
                    }
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("Cannot scan {} for partitions of deleted topics: {}", dir, e.toString());
            }
        }
    }

    private boolean hosted(Path dir) {
        for (PartitionOwner o : partitions.all()) {
            if (o.log().dir().equals(dir)) {
                return true;
            }
        }
        return false;
    }

    private Future<Void> completeAfter(List<Future<?>> work, long offset) {
        Future<Void> done = Future.join(new ArrayList<>(work)).mapEmpty();
        tail = tail.transform(x -> done.transform(y -> {
            markPublished(offset);
            return Future.<Void>succeededFuture();
        }));
        return tail;
    }

    private void markPublished(long offset) {
        if (offset > publishedOffset) {
            publishedOffset = offset;
        }
        while (true) {
            Waiter w;
            synchronized (waiters) {
                w = waiters.peek();
                if (w == null || w.offset() > publishedOffset) {
                    return;
                }
                waiters.poll();
            }
            w.future().complete(null);
        }
    }

    /** Completes once this broker has acted on the log up to {@code offset}. Any thread. */
    public CompletableFuture<Void> awaitPublished(long offset) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (publishedOffset >= offset) {
            f.complete(null);
            return f;
        }
        synchronized (waiters) {
            waiters.add(new Waiter(offset, f));
        }
        context.runOnContext(v -> markPublished(-1));
        return f;
    }

    /**
     * Controlled shutdown: fences this broker first, so its leaderships move to other in-sync replicas
     * before it stops (as Kafka's controlled shutdown does). Gives up after the quorum's request timeout.
     */
    Future<Void> shutdown() {
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            closing = true;
            BrokerRegistration me = image.broker(nodeId);
            if (me == null || !me.incarnation().equals(incarnation) || me.fenced()) {
                done.complete();
                return;
            }
            propose(MetadataRecords.fenceBroker(nodeId, incarnation))
                    .onComplete(ar -> {
                        if (ar.failed()) {
                            LOG.info("Controlled shutdown of broker {}: not fenced ({}), stopping anyway", nodeId,
                                    ar.cause().toString());
                        }
                        tail.onComplete(x -> done.complete());
                    });
        });
        return done.future();
    }
}
