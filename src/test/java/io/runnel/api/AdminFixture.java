package io.runnel.api;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.MetadataStore;
import io.runnel.cluster.TopicInfo;
import io.runnel.cluster.TopicManager;
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
 * A real Vert.x, metadata store (in a temporary directory), partition manager and topic manager for
 * handler tests. Topics that need no partition log are put straight into the store.
 */
final class AdminFixture implements AutoCloseable {

    static final int NODE_ID = 1;

    final Vertx vertx = Vertx.vertx();
    final BrokerConfig config;
    final MetadataStore store;
    final PartitionManager partitions;
    final TopicManager topics;
    private final Context eventLoop;

    AdminFixture(Path dir) {
        this(dir, Map.of());
    }

    AdminFixture(Path dir, Map<String, String> props) {
        Map<String, String> all = new HashMap<>(props);
        all.put(BrokerConfig.LOG_DIRS, dir.resolve("logs").toString());
        all.put(BrokerConfig.NODE_ID, String.valueOf(NODE_ID));
        config = new BrokerConfig(all);
        VertxInternal vi = (VertxInternal) vertx;
        store = new MetadataStore(dir.resolve("meta"));
        store.load();
        partitions = new PartitionManager(vertx, config, List.of(vi.createWorkerContext()), Time.SYSTEM);
        topics = new TopicManager(config, store, partitions, vi.createWorkerContext());
        eventLoop = vi.createEventLoopContext();
    }

    /** A topic in the metadata only (no partition log is opened). */
    TopicInfo topic(String name, int partitions, Map<String, String> configs) {
        TopicInfo t = new TopicInfo(name, Uuid.randomUuid(), partitions, (short) 1, Map.copyOf(configs));
        store.put(t);
        return t;
    }

    RequestContext ctx(ApiKeys api, int version) {
        return new RequestContext(new RequestHeader(api, (short) version, "test-client", 7), null, eventLoop,
                new Node(NODE_ID, "127.0.0.1", 9092), "conn-1");
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
        await(vertx.close());
    }
}
