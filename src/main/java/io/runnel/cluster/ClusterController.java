package io.runnel.cluster;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.EntryEvent;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidUpdateVersionException;
import org.apache.kafka.common.errors.NotControllerException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster membership and the controller, over Hazelcast (AP: its CP subsystem is not in the open-source
 * edition, so safety is ours).
 *
 * <ul>
 * <li>The controller is the oldest member, and it acts only while it sees a majority of the configured
 *     brokers; the maps carry Hazelcast split-brain protection (configured by the caller, see
 *     {@link #splitBrainProtection}) so a minority side cannot write at all.</li>
 * <li>Partition states live in the map {@value #PARTITIONS} as JSON, and change only by
 *     compare-and-set ({@code IMap.replace(key, old, new)}), every change bumping the partition epoch.
 *     Elections after a broker leaves or returns are the controller's ({@link Elections}); ISR changes
 *     come from the partition's leader and are validated and fenced the same way.</li>
 * <li>Every broker persists each newer state it sees ({@link PartitionStateStore}) before acting on it,
 *     and publishes what it persisted in {@value #PERSISTED}; after a full-cluster restart (the map is
 *     empty) the controller rebuilds the map from the newest state any broker saw, so epochs never go
 *     backwards.</li>
 * </ul>
 *
 * <p>Threading: Hazelcast calls block, so everything runs on one worker {@code context} of this
 * class, one task at a time; Hazelcast listeners only hop onto it. Futures complete on that context.
 */
public final class ClusterController implements PartitionStateChanger, BrokerDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterController.class);

    public static final String PARTITIONS = "runnel-partitions";
    public static final String PERSISTED = "runnel-persisted";
    public static final String NODE_ID_ATTRIBUTE = "runnel.node.id";
    public static final String KAFKA_HOST_ATTRIBUTE = "runnel.kafka.host";
    public static final String KAFKA_PORT_ATTRIBUTE = "runnel.kafka.port";
    public static final String SPLIT_BRAIN_PROTECTION = "runnel-majority";

    private final Context context;
    private final HazelcastInstance hz;
    private final int configuredBrokers;
    private final PartitionStateStore store;
    private final Predicate<String> uncleanAllowed;
    private final BiConsumer<TopicPartition, PartitionState> onState;
    private final IMap<String, String> partitions;
    private final IMap<Integer, String> persisted;
    private volatile Map<Integer, BrokerEndpoint> live = Map.of();

    /**
     * @param configuredBrokers size of the configured broker set; the controller needs a majority of it
     * @param onState           called on {@code context} with each newer state, after it was persisted
     */
    public ClusterController(Context context, HazelcastInstance hz, int configuredBrokers, PartitionStateStore store,
                             Predicate<String> uncleanAllowed, BiConsumer<TopicPartition, PartitionState> onState) {
        this.context = context;
        this.hz = hz;
        this.configuredBrokers = configuredBrokers;
        this.store = store;
        this.uncleanAllowed = uncleanAllowed;
        this.onState = onState;
        this.partitions = hz.getMap(PARTITIONS);
        this.persisted = hz.getMap(PERSISTED);
    }

    /** The split-brain protection every control-plane map must carry: a majority of the configured brokers. */
    public static com.hazelcast.config.SplitBrainProtectionConfig splitBrainProtection(int configuredBrokers) {
        return new com.hazelcast.config.SplitBrainProtectionConfig(SPLIT_BRAIN_PROTECTION, true,
                configuredBrokers / 2 + 1).setProtectOn(com.hazelcast.splitbrainprotection.SplitBrainProtectionOn.READ_WRITE);
    }

    /** Adds the maps' split-brain protection to a Hazelcast config before the member starts. */
    public static void configure(com.hazelcast.config.Config config, int configuredBrokers) {
        config.addSplitBrainProtectionConfig(splitBrainProtection(configuredBrokers));
        config.getMapConfig(PARTITIONS).setSplitBrainProtectionName(SPLIT_BRAIN_PROTECTION).setBackupCount(2);
        config.getMapConfig(PERSISTED).setSplitBrainProtectionName(SPLIT_BRAIN_PROTECTION).setBackupCount(2);
    }

    /** Loads what this broker persisted, publishes it, and starts following membership and states. */
    public Future<Void> start() {
        return run(() -> {
            store.load();
            refreshMembers();
            hz.getCluster().addMembershipListener(new MembershipListener() {
                @Override
                public void memberAdded(MembershipEvent e) {
                    context.runOnContext(v -> safely(ClusterController.this::onMembershipChange));
                }

                @Override
                public void memberRemoved(MembershipEvent e) {
                    context.runOnContext(v -> safely(ClusterController.this::onMembershipChange));
                }
            });
            partitions.addEntryListener(new StateListener(), true);
            // without a majority the maps refuse every operation: the first membership change with one retries
            safely(this::onMembershipChange);
            return null;
        });
    }

    private final class StateListener implements EntryAddedListener<String, String>, EntryUpdatedListener<String, String> {
        @Override
        public void entryAdded(EntryEvent<String, String> e) {
            String key = e.getKey();
            String value = e.getValue();
            context.runOnContext(v -> safely(() -> accept(key, value)));
        }

        @Override
        public void entryUpdated(EntryEvent<String, String> e) {
            entryAdded(e);
        }
    }

    private void accept(String key, String json) {
        TopicPartition tp = parseKey(key);
        PartitionState state = fromJson(new JsonObject(json));
        if (store.offer(tp, state)) {
            onState.accept(tp, state);
            publishPersisted();
        }
    }

    private void publishPersisted() {
        JsonArray arr = new JsonArray();
        store.snapshot().forEach((tp, s) -> arr.add(toJson(s).put("key", key(tp))));
        persisted.set(localNodeId(), arr.encode());
    }

    private void refreshMembers() {
        Map<Integer, BrokerEndpoint> m = new HashMap<>();
        for (Member member : hz.getCluster().getMembers()) {
            String id = member.getAttribute(NODE_ID_ATTRIBUTE);
            if (id != null) {
                int node = Integer.parseInt(id);
                m.put(node, new BrokerEndpoint(node, member.getAttribute(KAFKA_HOST_ATTRIBUTE),
                        Integer.parseInt(member.getAttribute(KAFKA_PORT_ATTRIBUTE))));
            }
        }
        live = Map.copyOf(m);
    }

    public int localNodeId() {
        return Integer.parseInt(hz.getCluster().getLocalMember().getAttribute(NODE_ID_ATTRIBUTE));
    }

    /** The oldest member leads, and only while it sees a majority of the configured brokers. */
    public boolean isController() {
        Set<Member> members = hz.getCluster().getMembers();
        return !members.isEmpty() && members.iterator().next().localMember()
                && members.size() >= configuredBrokers / 2 + 1;
    }

    /** Node id of the current controller as this member sees it, or -1 without a majority. */
    public int controllerId() {
        Set<Member> members = hz.getCluster().getMembers();
        if (members.size() < configuredBrokers / 2 + 1) {
            return -1;
        }
        String id = members.iterator().next().getAttribute(NODE_ID_ATTRIBUTE);
        return id == null ? -1 : Integer.parseInt(id);
    }

    @Override
    public BrokerEndpoint endpoint(int nodeId) {
        return live.get(nodeId);
    }

    @Override
    public Collection<BrokerEndpoint> liveBrokers() {
        return live.values();
    }

    /** The state of a partition as this broker has it (persisted, newest seen), or null. */
    public PartitionState state(TopicPartition tp) {
        return store.get(tp);
    }

    private void onMembershipChange() {
        refreshMembers();
        if (hz.getCluster().getMembers().size() < configuredBrokers / 2 + 1) {
            return;
        }
        publishPersisted();
        // states written while this broker was away or without a majority
        for (Map.Entry<String, String> e : partitions.entrySet()) {
            accept(e.getKey(), e.getValue());
        }
        if (!isController()) {
            return;
        }
        if (partitions.isEmpty()) {
            rebuildFromPersisted();
        }
        reconcile();
    }

    /** After a full-cluster restart: the newest state any live broker persisted, for every partition. */
    private void rebuildFromPersisted() {
        List<Map<TopicPartition, PartitionState>> images = new ArrayList<>();
        for (String json : persisted.values()) {
            Map<TopicPartition, PartitionState> image = new HashMap<>();
            for (Object o : new JsonArray(json)) {
                JsonObject j = (JsonObject) o;
                image.put(parseKey(j.getString("key")), fromJson(j));
            }
            images.add(image);
        }
        PartitionStateStore.merge(images).forEach((tp, s) -> partitions.putIfAbsent(key(tp), toJson(s).encode()));
    }

    /** Elects leaders for partitions whose leader is gone and drops dead brokers from ISRs. */
    private void reconcile() {
        Set<Integer> liveIds = new HashSet<>(live.keySet());
        Map<TopicPartition, String> raw = new HashMap<>();
        for (Map.Entry<String, String> e : partitions.entrySet()) {
            raw.put(parseKey(e.getKey()), e.getValue());
        }
        Map<TopicPartition, PartitionState> current = new HashMap<>();
        raw.forEach((tp, json) -> current.put(tp, fromJson(new JsonObject(json))));
        Map<TopicPartition, PartitionState> changes = new HashMap<>();
        Set<Integer> dead = new HashSet<>();
        current.values().forEach(s -> {
            s.isr().forEach(r -> {
                if (!liveIds.contains(r)) {
                    dead.add(r);
                }
            });
            if (s.leader() >= 0 && !liveIds.contains(s.leader())) {
                dead.add(s.leader());
            }
        });
        Map<TopicPartition, PartitionState> working = new HashMap<>(current);
        for (int node : dead) {
            Elections.brokerFailed(node, working, liveIds, uncleanAllowed).forEach((tp, s) -> {
                working.put(tp, s);
                changes.put(tp, s);
            });
        }
        for (int node : liveIds) {
            Elections.brokerJoined(node, working, liveIds, uncleanAllowed).forEach((tp, s) -> {
                working.put(tp, s);
                changes.put(tp, s);
            });
        }
        changes.forEach((tp, s) -> {
            // compare-and-set against exactly the value read
            if (!partitions.replace(key(tp), raw.get(tp), toJson(s).encode())) {
                LOG.info("State of {} changed under the controller; the next membership event reconciles it", tp);
            } else {
                LOG.info("Controller changed {}: {}", tp, s);
            }
        });
    }

    /**
     * Creates the states of new partitions with Kafka's replica assignment over the live brokers; only the
     * controller does this. Existing partitions are left as they are (putIfAbsent).
     */
    public Future<Map<Integer, PartitionState>> createPartitions(String topic, int fromPartition, int toPartition,
                                                                 int replicationFactor) {
        return run(() -> {
            if (!isController()) {
                throw new NotControllerException("This broker is not the controller");
            }
            List<Integer> brokers = new ArrayList<>(new java.util.TreeSet<>(live.keySet()));
            int start = java.util.concurrent.ThreadLocalRandom.current().nextInt(brokers.size());
            int shift = java.util.concurrent.ThreadLocalRandom.current().nextInt(brokers.size());
            Map<Integer, List<Integer>> assignment = ReplicaAssigner.assign(brokers, toPartition - fromPartition,
                    replicationFactor, start, shift, fromPartition);
            Map<Integer, PartitionState> created = new HashMap<>();
            assignment.forEach((p, replicas) -> {
                PartitionState s = Elections.initial(replicas, live.keySet());
                String prev = partitions.putIfAbsent(key(new TopicPartition(topic, p)), toJson(s).encode());
                created.put(p, prev == null ? s : fromJson(new JsonObject(prev)));
            });
            return created;
        });
    }

    /** Removes a deleted topic's partition states; only the controller does this. */
    public Future<Void> deletePartitions(String topic, int count) {
        return run(() -> {
            if (!isController()) {
                throw new NotControllerException("This broker is not the controller");
            }
            for (int p = 0; p < count; p++) {
                partitions.remove(key(new TopicPartition(topic, p)));
            }
            store.removeTopic(topic);
            publishPersisted();
            return null;
        });
    }

    @Override
    public Future<PartitionState> alterPartition(TopicPartition tp, PartitionState expected, PartitionState proposed) {
        return run(() -> {
            String currentJson = partitions.get(key(tp));
            if (currentJson == null) {
                throw new UnknownTopicOrPartitionException("No state for " + tp);
            }
            PartitionState current = fromJson(new JsonObject(currentJson));
            PartitionState next = Elections.alterIsr(current, expected, proposed.isr(), live.keySet());
            if (!partitions.replace(key(tp), currentJson, toJson(next).encode())) {
                throw new InvalidUpdateVersionException("State of " + tp + " changed concurrently");
            }
            return next;
        });
    }

    private <T> Future<T> run(Callable<T> task) {
        Promise<T> promise = Promise.promise();
        context.runOnContext(v -> {
            try {
                promise.complete(task.call());
            } catch (Throwable t) {
                promise.fail(t);
            }
        });
        return promise.future();
    }

    private void safely(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.warn("Cluster metadata update failed (retried on the next event): {}", e.toString());
        }
    }

    static String key(TopicPartition tp) {
        return tp.topic() + "/" + tp.partition();
    }

    static TopicPartition parseKey(String key) {
        int slash = key.lastIndexOf('/');
        return new TopicPartition(key.substring(0, slash), Integer.parseInt(key.substring(slash + 1)));
    }

    static JsonObject toJson(PartitionState s) {
        return new JsonObject().put("leader", s.leader()).put("leaderEpoch", s.leaderEpoch())
                .put("replicas", new JsonArray(s.replicas())).put("isr", new JsonArray(s.isr()))
                .put("partitionEpoch", s.partitionEpoch());
    }

    static PartitionState fromJson(JsonObject j) {
        List<Integer> replicas = new ArrayList<>();
        j.getJsonArray("replicas").forEach(o -> replicas.add(((Number) o).intValue()));
        List<Integer> isr = new ArrayList<>();
        j.getJsonArray("isr").forEach(o -> isr.add(((Number) o).intValue()));
        return new PartitionState(j.getInteger("leader"), j.getInteger("leaderEpoch"), replicas, isr,
                j.getInteger("partitionEpoch"));
    }
}
