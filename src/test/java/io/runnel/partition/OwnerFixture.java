package io.runnel.partition;

import java.util.concurrent.TimeUnit;

import io.runnel.log.PartitionLog;
import io.runnel.server.ShardVerticle;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Vert.x and the worker context of a deployed shard, the context a partition owner runs on in a broker, for
 * the owner tests of this package: {@code @RegisterExtension final OwnerFixture fx = new OwnerFixture();} gives each
 * test its own, closed after it. The tests build their owners on {@link #context}.
 */
final class OwnerFixture implements BeforeEachCallback, AfterEachCallback {

    /** Replication with no fetchers: a follower owner is fed by the test, or not at all. */
    static final Replication.FollowerRegistry NO_FETCHERS = new Replication.FollowerRegistry() {
        @Override
        public void follow(PartitionOwner owner, int leader) {
        }

        @Override
        public void unfollow(PartitionOwner owner) {
        }
    };

    Vertx vertx;
    Context context;

    @Override
    public void beforeEach(ExtensionContext test) throws Exception {
        vertx = Vertx.vertx();
        ShardVerticle shard = new ShardVerticle();
        await(vertx.deployVerticle(shard, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER)));
        context = shard.ownContext();
    }

    static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** Closes the log on the owners' context, after the tasks queued there. */
    void closeOnContext(PartitionLog log) throws Exception {
        await(context.executeBlocking(() -> {
            log.close();
            return null;
        }));
    }

    @Override
    public void afterEach(ExtensionContext test) throws Exception {
        if (vertx != null) {
            await(vertx.close());
        }
    }
}
