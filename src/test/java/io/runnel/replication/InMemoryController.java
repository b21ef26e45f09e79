package io.runnel.replication;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.cluster.BrokerDirectory;
import io.runnel.cluster.BrokerEndpoint;
import io.runnel.cluster.PartitionState;
import io.runnel.cluster.PartitionStateChanger;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.FencedLeaderEpochException;
import org.apache.kafka.common.errors.InvalidUpdateVersionException;

/**
 * A controller for replication tests, without Hazelcast: it holds every partition's state, applies a
 * leader's ISR proposal only by compare-and-set on the partition epoch, and pushes each new state to
 * every registered (live) broker's PartitionManager, as the real controller will. It is also the
 * brokers' directory of live endpoints. Topics are written into each broker's metadata file before that
 * broker starts, with one topic id for all.
 *
 * <p>Threading: any thread; state changes are synchronized.
 */
final class InMemoryController implements PartitionStateChanger, BrokerDirectory {

    private final Map<Integer, Broker> live = new ConcurrentHashMap<>();
    private final Map<Integer, BrokerEndpoint> endpoints = new ConcurrentHashMap<>();
    private final Map<TopicPartition, PartitionState> states = new ConcurrentHashMap<>();
    private final Map<String, Uuid> topicIds = new ConcurrentHashMap<>();
    private final Map<String, Map<String, String>> topicConfigs = new ConcurrentHashMap<>();

    /** Declares a topic; {@link #writeTopics} puts it into a broker's metadata before that broker starts. */
    void topic(String name, Map<String, String> configs) {
        topicIds.put(name, Uuid.randomUuid());
        topicConfigs.put(name, Map.copyOf(configs));
    }

    Uuid topicId(String name) {
        return topicIds.get(name);
    }

    /** Writes the declared topics (with {@code partitions} each) as a broker's topics.json. */
    void writeTopics(Path logDir, int partitions, int replicationFactor) throws IOException {
        JsonArray arr = new JsonArray();
        for (Map.Entry<String, Uuid> t : topicIds.entrySet()) {
            JsonObject configs = new JsonObject();
            topicConfigs.get(t.getKey()).forEach(configs::put);
            arr.add(new JsonObject().put("name", t.getKey()).put("id", t.getValue().toString())
                    .put("partitions", partitions).put("replicationFactor", replicationFactor).put("configs", configs));
        }
        Path meta = logDir.resolve("__runnel_meta");
        Files.createDirectories(meta);
        Files.writeString(meta.resolve("topics.json"), arr.encodePrettily());
    }

    void register(int nodeId, Broker broker) {
        String hp = broker.bootstrapServers();
        int colon = hp.lastIndexOf(':');
        endpoints.put(nodeId, new BrokerEndpoint(nodeId, hp.substring(0, colon), Integer.parseInt(hp.substring(colon + 1))));
        live.put(nodeId, broker);
    }

    /** The broker is gone: no more states are pushed to it and followers cannot find it. */
    void unregister(int nodeId) {
        live.remove(nodeId);
        endpoints.remove(nodeId);
    }

    PartitionState state(TopicPartition tp) {
        return states.get(tp);
    }

    /** Sets a partition's state and pushes it to every live broker; completes when all applied it. */
    void set(TopicPartition tp, PartitionState state) throws Exception {
        // never wait while holding the lock: owners call alterPartition from the contexts a push needs
        synchronized (this) {
            states.put(tp, state);
        }
        push(tp, state).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** Elects {@code leader} with a new leader epoch, keeping the ISR (which must hold it). */
    PartitionState elect(TopicPartition tp, int leader) throws Exception {
        PartitionState next;
        synchronized (this) {
            PartitionState current = states.get(tp);
            next = current.withLeader(leader, current.isr());
            states.put(tp, next);
        }
        push(tp, next).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        return next;
    }

    /** Hands a state to one broker only, as a partitioned-away node might still believe it. */
    void pushOnly(Broker broker, TopicPartition tp, PartitionState state) throws Exception {
        broker.partitionManager().applyState(tp, topicIds.get(tp.topic()), topicConfigs.get(tp.topic()), state)
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private Future<Void> push(TopicPartition tp, PartitionState state) {
        List<Future<Void>> all = new ArrayList<>();
        for (Broker b : live.values()) {
            all.add(b.partitionManager().applyState(tp, topicIds.get(tp.topic()), topicConfigs.get(tp.topic()), state));
        }
        return Future.join(all).mapEmpty();
    }

    @Override
    public Future<PartitionState> alterPartition(TopicPartition tp, PartitionState expected, PartitionState proposed) {
        PartitionState next;
        synchronized (this) {
            PartitionState current = states.get(tp);
            if (current == null || current.partitionEpoch() != expected.partitionEpoch()) {
                return Future.failedFuture(new InvalidUpdateVersionException("partition epoch of " + tp + " is "
                        + (current == null ? "unknown" : current.partitionEpoch())));
            }
            if (proposed.leaderEpoch() != current.leaderEpoch() || proposed.leader() != current.leader()) {
                return Future.failedFuture(new FencedLeaderEpochException("leader epoch of " + tp + " is "
                        + current.leaderEpoch()));
            }
            next = new PartitionState(current.leader(), current.leaderEpoch(), current.replicas(), proposed.isr(),
                    current.partitionEpoch() + 1);
            states.put(tp, next);
        }
        return push(tp, next).map(next);
    }

    @Override
    public BrokerEndpoint endpoint(int nodeId) {
        return endpoints.get(nodeId);
    }

    @Override
    public Collection<BrokerEndpoint> liveBrokers() {
        return endpoints.values();
    }
}
