package io.runnel.api;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.runnel.BrokerMetadataPublisher;
import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.MetadataImage;
import io.runnel.metadata.MetadataQuorum;
import io.runnel.metadata.MetadataStateMachine;
import io.runnel.metadata.MetadataView;
import io.runnel.metadata.QuorumConfig;
import io.runnel.partition.PartitionOwner;
import io.runnel.partition.Replication;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.partition.PartitionManager;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.utils.Time;

/**
 * A real Vert.x, a metadata quorum of one (in a temporary directory), partition manager, the broker's
 * metadata publisher and topic manager for handler tests: a single broker without its network listeners.
 */
final class AdminFixture implements AutoCloseable {

    static final int NODE_ID = 1;

    final Vertx vertx = Vertx.vertx();
    final BrokerConfig config;
    final MetadataQuorum quorum;
    private final BrokerMetadataPublisher publisher;
    final PartitionManager partitions;
    final TopicManager topics;
    private final Context eventLoop;

    AdminFixture(Path dir) {
        this(dir, Map.of());
    }

    AdminFixture(Path dir, Map<String, String> props) {
        Map<String, String> all = new HashMap<>(props);
        all.putIfAbsent(BrokerConfig.LOG_DIRS, dir.resolve("logs").toString());
        all.put(BrokerConfig.NODE_ID, String.valueOf(NODE_ID));
        config = new BrokerConfig(all);
        VertxInternal vi = (VertxInternal) vertx;
        MetadataImage image = new MetadataImage(overrides -> false);
        config.dynamicSource(() -> image.brokerLayers(NODE_ID));
        quorum = new MetadataQuorum(QuorumConfig.from(config), "fixture", new MetadataStateMachine(image));
        try {
            quorum.start("127.0.0.1", 0);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Replication.FollowerRegistry noFetchers = new Replication.FollowerRegistry() {
            @Override
            public void follow(PartitionOwner owner, int leader) {
            }

            @Override
            public void unfollow(PartitionOwner owner) {
            }
        };
        partitions = new PartitionManager(vertx, config, List.of(vi.createWorkerContext()), Time.SYSTEM,
                new Replication(NODE_ID, new MetadataView(quorum), noFetchers, 30_000, vertx, Time.SYSTEM));
        BrokerMetadataPublisher publisher = new BrokerMetadataPublisher(vi.createWorkerContext(), NODE_ID, Uuid.randomUuid(),
                quorum, partitions);
        quorum.stateMachine().listener(publisher);
        publisher.register("127.0.0.1", 9092);
        await(publisher.ready());
        this.publisher = publisher;
        topics = new TopicManager(config, quorum, publisher::awaitPublished);
        eventLoop = vi.createEventLoopContext();
    }

    /** A topic created through the metadata log, once its partition logs are open on this node. */
    TopicInfo topic(String name, int partitions, Map<String, String> configs) {
        TopicInfo t = await(topics.create(name, partitions, (short) 1, configs, false));
        try {
            publisher.awaitPublished(quorum.stateMachine().image().offset()).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("the partitions of " + name + " did not open", e);
        }
        return t;
    }

    /** A topic whose only replica is another broker (node 2), so nothing of it is hosted here. */
    TopicInfo topicElsewhere(String name, int partitions) throws Exception {
        Uuid other = Uuid.randomUuid();
        quorum.propose(io.runnel.metadata.MetadataRecords.registerBroker(2, other, "127.0.0.1", 9093)).get(10, TimeUnit.SECONDS);
        quorum.propose(io.runnel.metadata.MetadataRecords.unfenceBroker(2, other)).get(10, TimeUnit.SECONDS);
        quorum.propose(io.runnel.metadata.MetadataRecords.importTopic(name, Uuid.randomUuid(), partitions, Map.of(), 2))
                .get(10, TimeUnit.SECONDS);
        return topics.topic(name);
    }

    /**
     * A topic of one partition on this node (leader) and broker 2, registered at {@code followerHost} and
     * unfenced; the ISR holds both. Completes once the partition is open here.
     */
    TopicInfo topicWithFollower(String name, String followerHost) throws Exception {
        Uuid other = Uuid.randomUuid();
        quorum.propose(io.runnel.metadata.MetadataRecords.registerBroker(2, other, followerHost, 9093)).get(10, TimeUnit.SECONDS);
        quorum.propose(io.runnel.metadata.MetadataRecords.unfenceBroker(2, other)).get(10, TimeUnit.SECONDS);
        quorum.propose(io.runnel.metadata.MetadataRecords.createTopic(name, Uuid.randomUuid(), 1, (short) 2, Map.of(), 0, 0))
                .get(10, TimeUnit.SECONDS);
        publisher.awaitPublished(quorum.stateMachine().image().offset()).get(10, TimeUnit.SECONDS);
        return topics.topic(name);
    }

    RequestContext ctx(ApiKeys api, int version) {
        return ctx(api, version, null);
    }

    /** A request context of a connection from {@code client}. */
    RequestContext ctx(ApiKeys api, int version, io.vertx.core.net.SocketAddress client) {
        return new RequestContext(new RequestHeader(api, (short) version, "test-client", 7), client, eventLoop,
                new Node(NODE_ID, "127.0.0.1", 9092), "conn-1");
    }

    /** Runs {@code call} on the event loop that {@link #ctx} names, as a connection runs its handlers. */
    <T> Future<T> onEventLoop(java.util.function.Supplier<Future<T>> call) {
        io.vertx.core.Promise<T> promise = io.vertx.core.Promise.promise();
        eventLoop.runOnContext(v -> call.get().onComplete(promise));
        return promise.future();
    }

    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("future failed: " + e.getCause(), e.getCause());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static Throwable awaitFailure(Future<?> f) {
        try {
            f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("future succeeded");
    }

    @Override
    public void close() {
        await(partitions.closeAll());
        quorum.close();
        await(vertx.close());
    }
}
