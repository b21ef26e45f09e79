package io.runnel.cluster;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.config.SplitBrainProtectionConfig;
import com.hazelcast.core.EntryEvent;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionOn;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidUpdateVersionException;
import org.apache.kafka.common.errors.NotControllerException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.internals.Topic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster membership and the controller, over Hazelcast (AP: its CP subsystem is not in the open-source
 * edition, so safety is ours).
 *
 * <ul>
 * <li>The controller is the oldest member, and it acts only while it sees a majority of the configured
 *     brokers; the maps carry Hazelcast split-brain protection ({@link #configure}) so a minority side
 *     cannot write at all.</li>
 * <li>Topics ({@value #TOPICS}, by id) and partition states ({@value #PARTITIONS}) are JSON values that
 *     change only by compare-and-set ({@code IMap.replace(key, old, new)}); every change bumps a version
 *     (a topic's version, a partition's epochs). Elections after a broker leaves or returns and topic
 *     changes are the controller's; ISR changes come from the partition's leader ({@link #alterPartition})
 *     and are validated and fenced the same way ({@link Elections}).</li>
 * <li>Every broker persists each newer value it sees ({@link VersionedStore}) before acting on it and
 *     publishes what it persisted; after a full-cluster restart (the maps are empty) the controller
 *     rebuilds them from the newest values any broker saw, so epochs never go backwards and deleted topics
 *     stay deleted.</li>
 * </ul>
 *
 * <p>Threading: Hazelcast calls block, so everything runs on one worker {@code context}, one task at a
 * time; Hazelcast listeners only hop onto it. Futures and listener callbacks complete on that context.
 */
public final class ClusterController implements PartitionStateChanger, ClusterView {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterController.class);

    public static final String PARTITIONS = "runnel-partitions";
    public static final String TOPICS = "runnel-topics";
    public static final String PUBLISHED_PARTITIONS = "runnel-persisted-partitions";
    public static final String PUBLISHED_TOPICS = "runnel-persisted-topics";
    public static final String NODE_ID_ATTRIBUTE = "runnel.node.id";
    public static final String KAFKA_HOST_ATTRIBUTE = "runnel.kafka.host";
    public static final String KAFKA_PORT_ATTRIBUTE = "runnel.kafka.port";
    public static final String SPLIT_BRAIN_PROTECTION = "runnel-majority";
    public static final String BROKERS = "runnel-brokers";

    /** What a broker does with metadata it has persisted; called on the controller's context. */
    public interface Listener {
        void onTopic(TopicRecord topic);

        void onPartitionState(TopicPartition tp, PartitionState state);
    }

    private final Context context;
    private final HazelcastInstance hz;
    private final int majority;
    private final Predicate<String> uncleanAllowed;
    private final Table<TopicPartition, PartitionState> partitions;
    private final Table<Uuid, TopicRecord> topics;
    private final Listener listener;
    private final IMap<Integer, String> brokers;
    private final Map<Integer, BrokerEndpoint> endpoints = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile BrokerEndpoint self;
    private volatile Map<Integer, BrokerEndpoint> live = Map.of();

    /**
     * @param configuredBrokers size of the configured broker set; the controller needs a majority of it
     * @param metaDir           where this broker persists the metadata it has seen
     */
    public ClusterController(Context context, HazelcastInstance hz, int configuredBrokers, Path metaDir,
                             Predicate<String> uncleanAllowed, Listener listener) {
        this.context = context;
        this.hz = hz;
        this.majority = configuredBrokers / 2 + 1;
        this.uncleanAllowed = uncleanAllowed;
        this.listener = listener;
        // a partition state is keyed by topic name: never move one forward for a topic this broker does not
        // hold live, it could be the state of a deleted topic of the same name
        this.partitions = new Table<>(PARTITIONS, PUBLISHED_PARTITIONS, PartitionStateStore.open(metaDir),
                listener::onPartitionState, tp -> topic(tp.topic()) != null);
        this.topics = new Table<>(TOPICS, PUBLISHED_TOPICS, TopicRecord.open(metaDir), (id, t) -> listener.onTopic(t),
                id -> true);
        this.brokers = hz.getMap(BROKERS);
    }

    private static long brokerCount(Collection<Member> members) {
        return members.stream().filter(m -> m.getAttribute(NODE_ID_ATTRIBUTE) != null).count();
    }

    /** Broker members, oldest first (Vert.x applications in the cluster are members without a node id). */
    private List<Member> brokerMembers() {
        return hz.getCluster().getMembers().stream().filter(m -> m.getAttribute(NODE_ID_ATTRIBUTE) != null).toList();
    }

    /**
     * Makes this broker's Kafka endpoint known to the others (after its listener is up); written again on
     * every membership change until a majority accepts it.
     */
    public Future<Void> registerEndpoint(BrokerEndpoint endpoint) {
        return run(() -> {
            self = endpoint;
            endpoints.put(endpoint.nodeId(), endpoint);
            refreshMembers();
            handleMembershipChange();
            return null;
        });
    }

    /** Adds the maps' split-brain protection (a majority of the configured brokers) before the member starts. */
    public static void configure(Config config, int configuredBrokers) {
        int majority = configuredBrokers / 2 + 1;
        // Vert.x applications joined to the cluster are members too: only brokers count towards the majority
        config.addSplitBrainProtectionConfig(new SplitBrainProtectionConfig(SPLIT_BRAIN_PROTECTION, true, majority)
                .setProtectOn(SplitBrainProtectionOn.READ_WRITE)
                .setFunctionImplementation(members -> brokerCount(members) >= majority));
        for (String map : List.of(PARTITIONS, TOPICS, PUBLISHED_PARTITIONS, PUBLISHED_TOPICS, BROKERS)) {
            config.getMapConfig(map).setSplitBrainProtectionName(SPLIT_BRAIN_PROTECTION).setBackupCount(2);
        }
    }

    /**
     * One shared map, this broker's persisted copy of it, and where this broker publishes that copy for a
     * full-restart rebuild.
     */
    private final class Table<K, V> {
        final IMap<String, String> map;
        final IMap<Integer, String> published;
        final VersionedStore<K, V> store;
        final BiConsumer<K, V> onNewer;
        final Predicate<K> repairable;

        Table(String mapName, String publishedName, VersionedStore<K, V> store, BiConsumer<K, V> onNewer,
              Predicate<K> repairable) {
            this.map = hz.getMap(mapName);
            this.published = hz.getMap(publishedName);
            this.store = store;
            this.onNewer = onNewer;
            this.repairable = repairable;
        }

        void listen() {
            map.addEntryListener(new Changes(), true);
        }

        final class Changes implements EntryAddedListener<String, String>, EntryUpdatedListener<String, String> {
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

        /**
         * A value seen in the map: persisted and acted on if newer than this broker's; if older, this broker's
         * newer one is written back ({@link #moveForward}), so a map rebuilt after a full-cluster restart from
         * the brokers that had published by then still ends with the newest epochs of every broker.
         */
        void accept(String key, String json) {
            K k = store.codec().keyFromString().apply(key);
            V v = decode(key, json);
            if (store.offer(k, v)) {
                onNewer.accept(k, v);
                publish();
            } else {
                moveForward(k, key, json, v);
            }
        }

        /**
         * Moves the map's value forward to the one this broker persisted when that is newer: after a split
         * the smaller side merges back with Hazelcast's put-if-absent policy, so the map can keep the bigger
         * side's older copy (or a copy from before partitions were lost) of what the other side committed,
         * and every later compare-and-set against the newer state would fail; after a full-cluster restart
         * the controller rebuilds the map from the copies published by then. Only a newer value is written,
         * by compare-and-set, so this never undoes a change.
         */
        private void moveForward(K k, String key, String json, V current) {
            V mine = store.get(k);
            if (mine != null && repairable.test(k) && store.codec().isNewer().test(mine, current)
                    && map.replace(key, json, encode(mine))) {
                LOG.info("Moved {} forward to the newer value this broker persisted: {}", key, mine);
            }
        }

        V decode(String key, String json) {
            return store.codec().fromJson().apply(new JsonObject(json).put("key", key));
        }

        String encode(V v) {
            return store.codec().toJson().apply(v).encode();
        }

        String key(K k) {
            return store.codec().keyToString().apply(k);
        }

        void publish() {
            published.set(localNodeId(), store.encode());
        }

        /**
         * Catches up with values written while this broker was away or without a majority, and moves forward
         * any value of the map older than the one this broker persisted ({@link #accept}). Absent keys are
         * left alone (a deleted topic's partition states are removed from the map before brokers forget them).
         */
        void sync() {
            publish();
            for (Map.Entry<String, String> e : map.entrySet()) {
                accept(e.getKey(), e.getValue());
            }
        }

        /**
         * After a full-cluster restart: the newest value any live broker persisted, for every key. Waits
         * (returns false) until every live broker has published its copy: rebuilt from fewer, the map could
         * hold a state older than one a live broker acted on, and the controller would then hand out leader
         * and partition epochs that already mean something else on that broker's disk.
         */
        boolean rebuildIfEmpty(Set<Integer> liveIds) {
            if (!map.isEmpty()) {
                return true;
            }
            Map<Integer, String> images = new HashMap<>(published.getAll(liveIds));
            if (!images.keySet().containsAll(liveIds)) {
                return false;
            }
            List<Map<K, V>> decoded = new ArrayList<>();
            images.values().forEach(json -> decoded.add(store.decode(json)));
            VersionedStore.merge(decoded, store.codec().isNewer()).forEach((k, v) -> map.putIfAbsent(key(k), encode(v)));
            return true;
        }

        /** Current values with their exact stored text, for compare-and-set. */
        Map<K, String> raw() {
            Map<K, String> m = new HashMap<>();
            for (Map.Entry<String, String> e : map.entrySet()) {
                m.put(store.codec().keyFromString().apply(e.getKey()), e.getValue());
            }
            return m;
        }

        boolean compareAndSet(K k, String expectedJson, V next) {
            return map.replace(key(k), expectedJson, encode(next));
        }
    }

    /** Loads what this broker persisted and starts following membership, topics and partition states. */
    public Future<Void> start() {
        return run(() -> {
            topics.store.load();
            partitions.store.load();
            refreshMembers();
            hz.getCluster().addMembershipListener(new MembershipListener() {
                @Override
                public void memberAdded(MembershipEvent e) {
                    context.runOnContext(v -> handleMembershipChange());
                }

                @Override
                public void memberRemoved(MembershipEvent e) {
                    context.runOnContext(v -> handleMembershipChange());
                }
            });
            topics.listen();
            partitions.listen();
            brokers.addEntryListener((EntryAddedListener<Integer, String>) e -> {
                BrokerEndpoint ep = parseEndpoint(e.getKey(), e.getValue());
                context.runOnContext(v -> {
                    endpoints.put(ep.nodeId(), ep);
                    refreshMembers();
                });
            }, true);
            // without a majority the maps refuse every operation: the first membership change with one retries
            handleMembershipChange();
            return null;
        });
    }

    /** Live brokers: broker members whose Kafka endpoint is known (from member attributes or the map). */
    private void refreshMembers() {
        Map<Integer, BrokerEndpoint> m = new HashMap<>();
        for (Member member : brokerMembers()) {
            int node = Integer.parseInt(member.getAttribute(NODE_ID_ATTRIBUTE));
            String host = member.getAttribute(KAFKA_HOST_ATTRIBUTE);
            BrokerEndpoint ep = host != null
                    ? new BrokerEndpoint(node, host, Integer.parseInt(member.getAttribute(KAFKA_PORT_ATTRIBUTE)))
                    : endpoints.get(node);
            if (ep != null) {
                m.put(node, ep);
            }
        }
        live = Map.copyOf(m);
    }

    /** Node ids of the broker members: who is alive for elections, endpoint known or not. */
    private Set<Integer> memberIds() {
        Set<Integer> ids = new HashSet<>();
        for (Member member : brokerMembers()) {
            ids.add(Integer.parseInt(member.getAttribute(NODE_ID_ATTRIBUTE)));
        }
        return ids;
    }

    private static BrokerEndpoint parseEndpoint(int node, String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new BrokerEndpoint(node, hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    public int localNodeId() {
        return Integer.parseInt(hz.getCluster().getLocalMember().getAttribute(NODE_ID_ATTRIBUTE));
    }

    private boolean hasMajority() {
        return brokerMembers().size() >= majority;
    }

    /** The oldest broker leads, and only while it sees a majority of the configured brokers. */
    public boolean isController() {
        List<Member> members = brokerMembers();
        return members.size() >= majority && members.get(0).localMember();
    }

    /** Node id of the current controller as this member sees it, or -1 without a majority. */
    @Override
    public int controllerId() {
        List<Member> members = brokerMembers();
        if (members.size() < majority) {
            return -1;
        }
        return Integer.parseInt(members.get(0).getAttribute(NODE_ID_ATTRIBUTE));
    }

    @Override
    public BrokerEndpoint endpoint(int nodeId) {
        return live.get(nodeId);
    }

    @Override
    public Collection<BrokerEndpoint> liveBrokers() {
        return live.values();
    }

    /** The state of a partition as this broker has persisted it (the newest it saw), or null. */
    @Override
    public PartitionState state(TopicPartition tp) {
        return partitions.store.get(tp);
    }

    /**
     * Hands everything this broker persisted to the listener once (topics first), on this controller's
     * context: what a restarted broker applies before the cluster is reachable.
     */
    public Future<Void> replayPersisted() {
        return run(() -> {
            topics.store.snapshot().values().forEach(listener::onTopic);
            partitions.store.snapshot().forEach(listener::onPartitionState);
            return null;
        });
    }

    /** The live (not deleted) topic of that name as this broker has persisted it, or null. */
    public TopicRecord topic(String name) {
        return liveTopic(topics.store.snapshot().values(), name);
    }

    private static TopicRecord liveTopic(Collection<TopicRecord> records, String name) {
        return records.stream().filter(t -> !t.deleted() && t.name().equals(name)).findFirst().orElse(null);
    }

    private void onMembershipChange() {
        refreshMembers();
        if (!hasMajority()) {
            return;
        }
        BrokerEndpoint me = self;
        if (me != null) {
            brokers.set(me.nodeId(), me.host() + ":" + me.port());
        }
        for (Map.Entry<Integer, String> e : brokers.entrySet()) {
            endpoints.put(e.getKey(), parseEndpoint(e.getKey(), e.getValue()));
        }
        refreshMembers();
        topics.sync();
        partitions.sync();
        if (!isController()) {
            return;
        }
        Set<Integer> liveIds = memberIds();
        if (!topics.rebuildIfEmpty(liveIds) || !partitions.rebuildIfEmpty(liveIds)) {
            LOG.info("Waiting for every live broker to publish what it persisted before rebuilding the metadata");
            context.owner().setTimer(RECONCILE_RETRY_MS, id -> context.runOnContext(v -> handleMembershipChange()));
            return;
        }
        reconcile();
    }

    /** Elects leaders for partitions whose leader is gone and drops dead brokers from ISRs. */
    private void reconcile() {
        Set<Integer> liveIds = memberIds();
        Map<TopicPartition, String> raw = partitions.raw();
        Map<TopicPartition, PartitionState> working = new HashMap<>();
        raw.forEach((tp, json) -> working.put(tp, partitions.decode(partitions.key(tp), json)));
        Set<Integer> dead = new TreeSet<>();
        working.values().forEach(s -> {
            s.isr().stream().filter(r -> !liveIds.contains(r)).forEach(dead::add);
            if (s.leader() >= 0 && !liveIds.contains(s.leader())) {
                dead.add(s.leader());
            }
        });
        Map<TopicPartition, PartitionState> changes = new HashMap<>();
        for (int node : dead) {
            Elections.brokerFailed(node, working, liveIds, uncleanAllowed).forEach((tp, s) -> {
                working.put(tp, s);
                changes.put(tp, s);
            });
        }
        for (int node : new TreeSet<>(liveIds)) {
            Elections.brokerJoined(node, working, liveIds, uncleanAllowed).forEach((tp, s) -> {
                working.put(tp, s);
                changes.put(tp, s);
            });
        }
        boolean conflict = false;
        for (Map.Entry<TopicPartition, PartitionState> e : changes.entrySet()) {
            if (partitions.compareAndSet(e.getKey(), raw.get(e.getKey()), e.getValue())) {
                LOG.info("Controller changed {}: {}", e.getKey(), e.getValue());
            } else {
                LOG.info("State of {} changed under the controller; reconciling again", e.getKey());
                conflict = true;
            }
        }
        if (conflict) {
            // a leader's ISR change or a broker moving a stale entry forward won the race: decide again from
            // what holds now rather than wait for a membership event that may not come
            context.owner().setTimer(RECONCILE_RETRY_MS, id -> context.runOnContext(v -> safely(() -> {
                if (isController()) {
                    reconcile();
                }
            })));
        }
    }

    private static final long RECONCILE_RETRY_MS = 200;

    /** Creates a topic and its partitions with Kafka's replica assignment over the live brokers. */
    public Future<TopicRecord> createTopic(String name, int partitionCount, short replicationFactor,
                                           Map<String, String> configs) {
        return run(() -> {
            requireController();
            Topic.validate(name);
            if (liveTopic(topicValues(), name) != null) {
                throw new TopicExistsException("Topic '" + name + "' already exists.");
            }
            if (partitionCount <= 0) {
                throw new InvalidPartitionsException("Number of partitions must be larger than 0.");
            }
            TopicRecord record = new TopicRecord(Uuid.randomUuid(), name, partitionCount, replicationFactor, configs,
                    0, false);
            // assign first: a replication factor the live brokers cannot hold fails before anything is written
            Map<Integer, List<Integer>> assignment = assign(partitionCount, replicationFactor, 0);
            topics.map.putIfAbsent(topics.key(record.id()), topics.encode(record));
            writeInitialStates(name, assignment);
            return record;
        });
    }

    /** Grows a topic to {@code newTotal} partitions. */
    public Future<TopicRecord> createPartitions(String name, int newTotal) {
        return run(() -> {
            requireController();
            TopicRecord t = requireTopic(name);
            if (newTotal <= t.partitions()) {
                throw new InvalidPartitionsException("Topic currently has " + t.partitions()
                        + " partitions, which is higher than or equal to the requested " + newTotal + ".");
            }
            Map<Integer, List<Integer>> assignment = assign(newTotal - t.partitions(), t.replicationFactor(),
                    t.partitions());
            TopicRecord next = t.withPartitions(newTotal);
            if (!topics.compareAndSet(t.id(), topics.raw().get(t.id()), next)) {
                throw new InvalidUpdateVersionException("Topic " + name + " changed concurrently");
            }
            writeInitialStates(name, assignment);
            return next;
        });
    }

    /** Changes a topic's config overrides by compare-and-set on its version. */
    public Future<TopicRecord> alterConfigs(String name, UnaryOperator<Map<String, String>> change) {
        return run(() -> {
            requireController();
            TopicRecord t = requireTopic(name);
            TopicRecord next = t.withConfigs(change.apply(new HashMap<>(t.configs())));
            if (!topics.compareAndSet(t.id(), topics.raw().get(t.id()), next)) {
                throw new InvalidUpdateVersionException("Topic " + name + " changed concurrently");
            }
            return next;
        });
    }

    /** Deletes a topic: a tombstone for the topic, and its partition states removed. */
    public Future<TopicRecord> deleteTopic(String name) {
        return run(() -> {
            requireController();
            TopicRecord t = requireTopic(name);
            if (!topics.compareAndSet(t.id(), topics.raw().get(t.id()), t.tombstone())) {
                throw new InvalidUpdateVersionException("Topic " + name + " changed concurrently");
            }
            for (int p = 0; p < t.partitions(); p++) {
                partitions.map.remove(partitions.key(new TopicPartition(name, p)));
            }
            return t.tombstone();
        });
    }

    /** Forgets the partition states of a deleted topic on this broker (after its logs are removed). */
    public Future<Void> forgetTopic(String name) {
        return run(() -> {
            partitions.store.removeIf(tp -> tp.topic().equals(name));
            if (hasMajority()) {
                partitions.publish();
            }
            return null;
        });
    }

    private Map<Integer, List<Integer>> assign(int count, short replicationFactor, int firstPartition) {
        List<Integer> brokerIds = new ArrayList<>(new TreeSet<>(memberIds()));
        int n = Math.max(1, brokerIds.size());
        return ReplicaAssigner.assign(brokerIds, count, replicationFactor, ThreadLocalRandom.current().nextInt(n),
                ThreadLocalRandom.current().nextInt(n), firstPartition);
    }

    private void writeInitialStates(String topic, Map<Integer, List<Integer>> assignment) {
        assignment.forEach((p, replicas) -> {
            PartitionState s = Elections.initial(replicas, memberIds());
            partitions.map.putIfAbsent(partitions.key(new TopicPartition(topic, p)), partitions.encode(s));
        });
    }

    private Collection<TopicRecord> topicValues() {
        List<TopicRecord> out = new ArrayList<>();
        topics.raw().forEach((id, json) -> out.add(topics.decode(topics.key(id), json)));
        return out;
    }

    private TopicRecord requireTopic(String name) {
        TopicRecord t = liveTopic(topicValues(), name);
        if (t == null) {
            throw new UnknownTopicOrPartitionException("The topic '" + name + "' does not exist.");
        }
        return t;
    }

    private void requireController() {
        if (!isController()) {
            throw new NotControllerException("This broker is not the controller");
        }
    }

    @Override
    public Future<PartitionState> alterPartition(TopicPartition tp, PartitionState expected, PartitionState proposed) {
        return run(() -> {
            String currentJson = partitions.map.get(partitions.key(tp));
            if (currentJson == null) {
                throw new UnknownTopicOrPartitionException("No state for " + tp);
            }
            PartitionState current = partitions.decode(partitions.key(tp), currentJson);
            PartitionState next = Elections.alterIsr(current, expected, proposed.isr(), memberIds());
            if (!partitions.compareAndSet(tp, currentJson, next)) {
                throw new InvalidUpdateVersionException("State of " + tp + " changed concurrently");
            }
            return next;
        });
    }

    /** A broker joins ISRs only as a live member (what {@link Elections#alterIsr} will check). */
    @Override
    public boolean eligibleForIsr(int brokerId) {
        return memberIds().contains(brokerId);
    }

    private <T> Future<T> run(Callable<T> task) {
        return io.runnel.server.OnContext.call(context, task);
    }

    /**
     * Acts on the current membership; a failure is tried again shortly rather than left to the next event,
     * which may not come: a member that has just joined can count towards the majority here before
     * Hazelcast's split-brain protection sees it, so the maps still refuse the first attempt.
     */
    private void handleMembershipChange() {
        try {
            onMembershipChange();
        } catch (RuntimeException e) {
            if (!hz.getLifecycleService().isRunning()) {
                return; // shutting down
            }
            LOG.warn("Cluster metadata update failed (retried in {} ms): {}", MEMBERSHIP_RETRY_MS, e.toString());
            context.owner().setTimer(MEMBERSHIP_RETRY_MS, id -> context.runOnContext(v -> handleMembershipChange()));
        }
    }

    private static final long MEMBERSHIP_RETRY_MS = 1000;

    private void safely(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.warn("Cluster metadata update failed (retried on the next event): {}", e.toString());
        }
    }
}
