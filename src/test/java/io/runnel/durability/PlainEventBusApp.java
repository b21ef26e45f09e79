package io.runnel.durability;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MultiMapConfig;
import com.hazelcast.config.NetworkConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

/**
 * A Vert.x application as a user writes one against the README: vertx-core and vertx-hazelcast only, no
 * Runnel class, raw event-bus addresses. It joins the brokers' Hazelcast cluster, subscribes, heartbeats
 * and acknowledges deliveries. Used by the cluster tests of the bridge.
 */
final class PlainEventBusApp implements AutoCloseable {

    final Vertx vertx;
    private final String nodeId;

    private PlainEventBusApp(Vertx vertx, String nodeId) {
        this.vertx = vertx;
        this.nodeId = nodeId;
    }

    /** One subscription, heartbeated until unsubscribed. */
    final class Sub {
        final String id;
        final JsonObject subscribed;
        private final long heartbeatTimer;
        volatile long heartbeatsOk;
        volatile long heartbeatsFailed;
        volatile JsonObject lastHeartbeat;

        Sub(JsonObject subscribed) {
            this.subscribed = subscribed;
            this.id = subscribed.getString("subscriptionId");
            this.heartbeatTimer = vertx.setPeriodic(subscribed.getLong("heartbeatIntervalMs"), t -> heartbeat(true));
        }

        private void heartbeat(boolean retry) {
            vertx.eventBus().<JsonObject>request("runnel.heartbeat", new JsonObject().put("subscriptionId", id),
                    new DeliveryOptions().setSendTimeout(3000)).onComplete(ar -> {
                        if (ar.succeeded()) {
                            heartbeatsOk++;
                            lastHeartbeat = ar.result().body();
                        } else {
                            heartbeatsFailed++;
                            if (retry) {
                                heartbeat(false);
                            }
                        }
                    });
        }

        JsonObject unsubscribe() throws Exception {
            vertx.cancelTimer(heartbeatTimer);
            return vertx.eventBus().<JsonObject>request("runnel.unsubscribe", new JsonObject().put("subscriptionId", id),
                    new DeliveryOptions().setSendTimeout(20_000)).map(Message::body)
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    /** Joins the Hazelcast cluster {@code name} through {@code members}, on loopback port {@code port}. */
    static PlainEventBusApp join(String name, List<String> members, int port) throws Exception {
        Config config = new Config();
        // what vertx-hazelcast's default-cluster.xml declares for the event bus
        config.addMultiMapConfig(new MultiMapConfig("__vertx.subs").setBackupCount(1)
                .setValueCollectionType(MultiMapConfig.ValueCollectionType.SET));
        config.addMapConfig(new MapConfig("__vertx.haInfo").setBackupCount(1));
        config.addMapConfig(new MapConfig("__vertx.nodeInfo").setBackupCount(1));
        config.setClusterName(name);
        config.setProperty("hazelcast.wait.seconds.before.join", "0");
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.shutdownhook.enabled", "false");
        config.setProperty("hazelcast.logging.type", "slf4j");
        config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
        config.setProperty("hazelcast.max.no.heartbeat.seconds", "10");
        NetworkConfig network = config.getNetworkConfig();
        network.setPort(port).setPortAutoIncrement(false);
        network.getInterfaces().setEnabled(true).clear().addInterface("127.0.0.1");
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getTcpIpConfig().setEnabled(true).setMembers(members);
        VertxOptions options = new VertxOptions();
        options.getEventBusOptions().setHost("127.0.0.1").setPort(0);
        HazelcastClusterManager manager = new HazelcastClusterManager(config);
        Vertx vertx = Vertx.builder().with(options).withClusterManager(manager)
                .buildClustered().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        return new PlainEventBusApp(vertx, manager.getNodeId());
    }

    /**
     * Subscribes with {@code request} (group, topics, credits, ...; the delivery address and node id are
     * filled in), delivering each message to {@code handler}, whose future's success is the acknowledgement.
     * Then heartbeats, every interval the broker named, each with a short timeout and retried once at once
     * when it failed (its broker may just have died; the next goes to another).
     */
    Sub subscribe(JsonObject request, Function<Message<Object>, Future<?>> handler) throws Exception {
        String address = "app.deliveries." + UUID.randomUUID();
        MessageConsumer<Object> consumer = vertx.eventBus().consumer(address, msg -> handler.apply(msg).onComplete(ar -> {
            if (ar.succeeded()) {
                msg.reply(null);
            } else {
                msg.fail(1, String.valueOf(ar.cause()));
            }
        }));
        consumer.completion().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        JsonObject body = request.copy().put("address", address).put("nodeId", nodeId);
        JsonObject reply = vertx.eventBus().<JsonObject>request("runnel.subscribe", body,
                        new DeliveryOptions().setSendTimeout(30_000)).map(Message::body)
                .toCompletionStage().toCompletableFuture().get(40, TimeUnit.SECONDS);
        return new Sub(reply);
    }

    @Override
    public void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
