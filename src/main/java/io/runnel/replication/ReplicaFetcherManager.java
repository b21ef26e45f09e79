package io.runnel.replication;

import java.util.HashMap;
import java.util.Map;

import io.runnel.cluster.BrokerDirectory;
import io.runnel.config.BrokerConfig;
import io.runnel.partition.PartitionOwner;
import io.runnel.partition.Replication;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import org.apache.kafka.common.TopicPartition;

/**
 * The follower side of replication on one broker: one {@link ReplicaFetcher} (one connection) per
 * leader broker that this node follows partitions from, created when the first partition needs it and
 * stopped when its last partition leaves. Partition owners register through
 * {@link Replication.FollowerRegistry} when they become followers and leave when they lead or close.
 *
 * <p>Threading: {@link #follow} and {@link #unfollow} are called from any thread (owners' contexts) and
 * hop, in call order, onto this manager's own event-loop context, where all fetchers run.
 */
public final class ReplicaFetcherManager implements Replication.FollowerRegistry {

    private final Vertx vertx;
    private final Context context;
    private final NetClient client;
    private final BrokerDirectory directory;
    private final FetcherSettings settings;
    private final int localNode;
    private final Map<Integer, ReplicaFetcher> byLeader = new HashMap<>();
    private final Map<TopicPartition, ReplicaFetcher> byPartition = new HashMap<>();

    private ReplicaFetcherManager(Vertx vertx, Context context, BrokerConfig config, BrokerDirectory directory) {
        this.vertx = vertx;
        this.context = context;
        this.directory = directory;
        this.settings = FetcherSettings.from(config);
        this.localNode = config.nodeId();
        this.client = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true).setConnectTimeout(10_000));
    }

    /** Deploys the manager's event-loop context; completes with the manager. */
    public static Future<ReplicaFetcherManager> start(Vertx vertx, BrokerConfig config, BrokerDirectory directory) {
        Holder holder = new Holder();
        return vertx.deployVerticle(holder).map(id -> new ReplicaFetcherManager(vertx, holder.own(), config, directory));
    }

    private static final class Holder extends AbstractVerticle {
        Context own() {
            return context;
        }
    }

    @Override
    public void follow(PartitionOwner owner, int leader) {
        context.runOnContext(v -> {
            TopicPartition tp = owner.topicPartition();
            ReplicaFetcher current = byPartition.get(tp);
            if (current != null && current.leaderId() != leader) {
                current.remove(owner);
                stopIfIdle(current);
            }
            ReplicaFetcher f = byLeader.computeIfAbsent(leader,
                    id -> new ReplicaFetcher(vertx, context, client, directory, settings, localNode, id));
            byPartition.put(tp, f);
            f.add(owner);
        });
    }

    @Override
    public void unfollow(PartitionOwner owner) {
        context.runOnContext(v -> {
            ReplicaFetcher f = byPartition.get(owner.topicPartition());
            if (f != null) {
                if (f.remove(owner)) {
                    byPartition.remove(owner.topicPartition());
                }
                stopIfIdle(f);
            }
        });
    }

    private void stopIfIdle(ReplicaFetcher f) {
        if (f.isEmpty()) {
            f.stop();
            byLeader.remove(f.leaderId(), f);
        }
    }
}
