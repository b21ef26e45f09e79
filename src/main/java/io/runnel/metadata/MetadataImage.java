package io.runnel.metadata;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

import io.runnel.cluster.Elections;
import io.runnel.cluster.PartitionState;
import io.runnel.cluster.ReplicaAssigner;
import io.runnel.cluster.StaleConfigsException;
import io.runnel.cluster.TopicInfo;
import io.runnel.config.BrokerConfig;
import io.runnel.config.DynamicBrokerConfigs;
import io.runnel.config.TopicConfigs;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.DuplicateBrokerRegistrationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.StaleBrokerEpochException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicIdException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.internals.Topic;

/**
 * Every node's picture of the cluster metadata: registered brokers, topics with all their partition
 * states, dynamic broker configs, the next free producer id and the controller epoch; the result of applying the metadata log
 * ({@link MetadataRecords}) in order, or of loading a snapshot of it.
 *
 * <p>Invariants: a topic is added with every partition state at once and removed at once, so a reader
 * never sees part of one; a partition's epochs only grow; partitions are keyed by topic id, so a topic
 * deleted and re-created under the same name shares nothing with its predecessor.
 *
 * <p>Threading: {@link #apply} runs on the state machine's single apply thread; readers on any thread see
 * each topic and broker as a whole (immutable values in concurrent maps), not a consistent cut across them.
 */
public final class MetadataImage {

    /** A topic with its partition states, index = partition id. Immutable. */
    public record TopicImage(TopicInfo info, List<PartitionState> partitions) {
        public TopicImage {
            partitions = List.copyOf(partitions);
        }
    }

    /** One replica: a partition of a topic, by topic id. */
    public record ReplicaKey(Uuid topicId, int partition) {
    }

    /**
     * The log directories a broker process reported offline, with the replicas they held (KIP-858's
     * offline directories of a registration, plus what lived in them, since this log does not record which
     * directory each replica is in). Belongs to one incarnation: a restarted process starts with none.
     */
    public record OfflineDirs(Uuid incarnation, Set<String> dirs, Set<ReplicaKey> replicas) {
        public OfflineDirs {
            dirs = Set.copyOf(dirs);
            replicas = Set.copyOf(replicas);
        }
    }

    /** The answer to the proposer and what changed for the broker. */
    public record Applied(JsonObject reply, MetadataDelta delta) {
    }

    /**
     * A registration of {@code incarnation} refused at log index {@code index}, applied on this node at
     * {@code appliedNanos} ({@link System#nanoTime()}).
     */
    public record RefusedRegistration(Uuid incarnation, long index, long appliedNanos) {
    }

    private final Map<Integer, BrokerRegistration> brokers = new ConcurrentHashMap<>();
    private final Map<Uuid, TopicImage> byId = new ConcurrentHashMap<>();
    private final Map<String, TopicImage> byName = new ConcurrentHashMap<>();
    /** Per node, the log directories its current process reported offline; no entry while it has none. */
    private final Map<Integer, OfflineDirs> offlineDirs = new ConcurrentHashMap<>();
    /**
     * Per node, the last registration refused because another process of that node id is registered and
     * unfenced: evidence, for the controller, that a newer process is live (a restart after kill -9 whose
     * member has not joined Hazelcast yet). Kept in memory only, not in snapshots: it is only ever recent.
     */
    private final Map<Integer, RefusedRegistration> refusedRegistrations = new ConcurrentHashMap<>();
    /** Dynamic broker configs by BROKER resource name ("" = cluster default); immutable maps, never empty. */
    private final Map<String, Map<String, String>> brokerConfigs = new ConcurrentHashMap<>();
    /** Users' SCRAM credentials (salted, never passwords), with the cache the SASL servers read. */
    private final ScramCredentials scram = new ScramCredentials();
    /** Client quotas by user / client id entity, read by the quota managers of every connection. */
    private final ClientQuotaRecords clientQuotas = new ClientQuotaRecords();
    private final Predicate<Map<String, String>> uncleanAllowed;
    private volatile long nextProducerId;
    private volatile long controllerEpoch;
    private volatile long offset = -1;
    /** The cluster's ACLs, replaced whole on each change: read by the authorizer from any thread. */
    private volatile io.runnel.security.AclIndex acls = io.runnel.security.AclIndex.EMPTY;

    /** @param uncleanAllowed whether a topic with these overrides may elect an out-of-sync replica */
    public MetadataImage(Predicate<Map<String, String>> uncleanAllowed) {
        this.uncleanAllowed = uncleanAllowed;
    }

    // ---- reads, any thread

    public BrokerRegistration broker(int nodeId) {
        return brokers.get(nodeId);
    }

    public Collection<BrokerRegistration> brokers() {
        return brokers.values();
    }

    /** Registered brokers that are not fenced, sorted by node id. */
    public Set<Integer> unfencedBrokers() {
        Set<Integer> ids = new TreeSet<>();
        brokers.values().forEach(b -> {
            if (!b.fenced()) {
                ids.add(b.nodeId());
            }
        });
        return ids;
    }

    /** The log directories broker {@code nodeId}'s process reported offline (empty for none). */
    public Set<String> offlineDirs(int nodeId) {
        OfflineDirs o = offlineDirs.get(nodeId);
        return o == null ? Set.of() : o.dirs();
    }

    /** Whether broker {@code nodeId}'s replica of that partition sits in a log directory it reported offline. */
    public boolean replicaOffline(int nodeId, Uuid topicId, int partition) {
        OfflineDirs o = offlineDirs.get(nodeId);
        return o != null && o.replicas().contains(new ReplicaKey(topicId, partition));
    }

    /**
     * The brokers that may lead or join the ISR of partition {@code partition} of topic {@code topicId}:
     * unfenced, and not holding their replica of it in an offline log directory. Sorted by node id.
     */
    public Set<Integer> eligibleReplicas(Uuid topicId, int partition) {
        Set<Integer> live = unfencedBrokers();
        if (!offlineDirs.isEmpty()) {
            live.removeIf(n -> replicaOffline(n, topicId, partition));
        }
        return live;
    }

    public TopicImage topic(String name) {
        return byName.get(name);
    }

    public TopicImage topic(Uuid id) {
        return byId.get(id);
    }

    public Collection<TopicImage> topics() {
        return byName.values();
    }

    public PartitionState partition(TopicPartition tp) {
        TopicImage t = byName.get(tp.topic());
        return t == null || tp.partition() < 0 || tp.partition() >= t.partitions().size() ? null
                : t.partitions().get(tp.partition());
    }

    /** The dynamic configs of a BROKER resource ("" for the cluster default); the same map until changed. */
    public Map<String, String> brokerConfigs(String resource) {
        return brokerConfigs.getOrDefault(resource, Map.of());
    }

    /** The dynamic configs that apply to broker {@code nodeId}. */
    public DynamicBrokerConfigs.Layers brokerLayers(int nodeId) {
        return new DynamicBrokerConfigs.Layers(brokerConfigs(DynamicBrokerConfigs.CLUSTER_DEFAULT),
                brokerConfigs(String.valueOf(nodeId)));
    }

    /** The users' SCRAM credentials. */
    public ScramCredentials scram() {
        return scram;
    }

    /** The cluster's client quotas. */
    public ClientQuotaRecords clientQuotas() {
        return clientQuotas;
    }

    public long controllerEpoch() {
        return controllerEpoch;
    }

    /** The cluster's ACLs (an immutable value). */
    public io.runnel.security.AclIndex acls() {
        return acls;
    }

    /** Log index of the last record applied, -1 before any. */
    public long offset() {
        return offset;
    }

    // ---- apply, the state machine's thread only

    /**
     * Applies one record at log {@code index} written in {@code term}. A record whose preconditions fail
     * changes nothing and throws the kafka-clients ApiException its proposer answers with (every node
     * fails it the same way).
     */
    public Applied apply(JsonObject record, long index, long term) {
        offset = index;
        controllerEpoch = term;
        String type = record.getString("type", "");
        return switch (type) {
            case MetadataRecords.REGISTER_BROKER -> registerBroker(record, index);
            case MetadataRecords.UNFENCE_BROKER -> setFenced(record, false);
            case MetadataRecords.FENCE_BROKER -> setFenced(record, true);
            case MetadataRecords.CREATE_TOPIC -> createTopic(record);
            case MetadataRecords.CREATE_PARTITIONS -> createPartitions(record);
            case MetadataRecords.DELETE_TOPIC -> deleteTopic(record);
            case MetadataRecords.ALTER_CONFIGS -> alterConfigs(record);
            case MetadataRecords.ALTER_BROKER_CONFIGS -> alterBrokerConfigs(record);
            case MetadataRecords.ALTER_PARTITION -> alterPartition(record);
            case MetadataRecords.ALLOCATE_PRODUCER_IDS -> allocateProducerIds(record);
            case MetadataRecords.LOG_DIR_OFFLINE -> logDirOffline(record);
            case ScramCredentials.ALTER -> new Applied(scram.apply(record),
                    new MetadataDelta(List.of(), List.of(), List.of(), false, offset));
            case ClientQuotaRecords.ALTER -> {
                clientQuotas.apply(record);
                yield new Applied(new JsonObject(), emptyDelta());
            }
            case AclRecords.CREATE_ACLS -> {
                acls = AclRecords.applyCreate(acls, record);
                yield new Applied(new JsonObject(), emptyDelta());
            }
            case AclRecords.DELETE_ACLS -> {
                JsonObject reply = new JsonObject();
                acls = AclRecords.applyDelete(acls, record, reply);
                yield new Applied(reply, emptyDelta());
            }
            default -> throw new InvalidRequestException("Unknown metadata record type '" + type + "'");
        };
    }

    /** The last registration of {@code node} refused for another process holding the id; null if none. Any thread. */
    public RefusedRegistration refusedRegistration(int node) {
        return refusedRegistrations.get(node);
    }

    private Applied registerBroker(JsonObject r, long index) {
        int node = r.getInteger("node");
        Uuid incarnation = Uuid.fromString(r.getString("incarnation"));
        BrokerRegistration old = brokers.get(node);
        if (old != null && !old.incarnation().equals(incarnation) && !old.fenced()) {
            refusedRegistrations.put(node, new RefusedRegistration(incarnation, index, System.nanoTime()));
            throw new DuplicateBrokerRegistrationException("Node " + node + " is registered by another running"
                    + " process (incarnation " + old.incarnation() + "); a duplicated node.id is refused until that"
                    + " one is fenced");
        }
        boolean sameProcess = old != null && old.incarnation().equals(incarnation);
        BrokerRegistration next = new BrokerRegistration(node, incarnation, r.getString("host"), r.getInteger("port"),
                sameProcess ? old.epoch() : index, !sameProcess || old.fenced(),
                BrokerRegistration.listeners(r.getJsonObject("listeners")));
        brokers.put(node, next);
        if (!sameProcess) {
            // a new process found its log directories usable at start (it refuses to start otherwise)
            offlineDirs.remove(node);
        }
        return new Applied(new JsonObject().put("epoch", next.epoch()), brokersDelta(List.of()));
    }

    private Applied setFenced(JsonObject r, boolean fence) {
        int node = r.getInteger("node");
        Uuid incarnation = Uuid.fromString(r.getString("incarnation"));
        BrokerRegistration b = brokers.get(node);
        if (b == null || !b.incarnation().equals(incarnation)) {
            throw new StaleBrokerEpochException("Node " + node + " incarnation " + incarnation + " is not registered");
        }
        if (b.fenced() == fence) {
            return new Applied(new JsonObject(), emptyDelta());
        }
        brokers.put(node, b.withFenced(fence));
        Set<Integer> live = unfencedBrokers();
        List<MetadataDelta.PartitionChange> changes = new ArrayList<>();
        for (TopicImage t : List.copyOf(byId.values())) {
            Map<TopicPartition, PartitionState> current = states(t);
            Predicate<String> unclean = name -> uncleanAllowed.test(electionConfigs(t.info().configs()));
            java.util.function.Function<TopicPartition, Set<Integer>> liveFor = offlineDirs.isEmpty() ? tp -> live
                    : tp -> eligibleReplicas(t.info().id(), tp.partition());
            Map<TopicPartition, PartitionState> changed = fence
                    ? Elections.brokerFailed(node, current, liveFor, unclean)
                    : Elections.brokerJoined(node, current, liveFor, unclean);
            if (!changed.isEmpty()) {
                List<PartitionState> next = new ArrayList<>(t.partitions());
                changed.forEach((tp, s) -> {
                    next.set(tp.partition(), s);
                    changes.add(new MetadataDelta.PartitionChange(t.info(), tp.partition(), s));
                });
                put(new TopicImage(t.info(), next));
            }
        }
        return new Applied(new JsonObject(), brokersDelta(changes));
    }

    /**
     * A broker's log directory failed (KIP-858): its replicas there are out of every ISR they are in (unless
     * the last member, as a fenced broker's), the partitions it led there elect another in-sync replica, and
     * until that process is gone none of them is elected or joins an ISR again.
     */
    private Applied logDirOffline(JsonObject r) {
        int node = r.getInteger("node");
        Uuid incarnation = Uuid.fromString(r.getString("incarnation"));
        BrokerRegistration b = brokers.get(node);
        if (b == null || !b.incarnation().equals(incarnation)) {
            throw new StaleBrokerEpochException("Node " + node + " incarnation " + incarnation + " is not registered");
        }
        Set<ReplicaKey> reported = new java.util.HashSet<>();
        r.getJsonArray("replicas", new JsonArray()).forEach(o -> {
            JsonObject j = (JsonObject) o;
            reported.add(new ReplicaKey(Uuid.fromString(j.getString("topicId")), j.getInteger("partition")));
        });
        OfflineDirs old = offlineDirs.get(node);
        Set<String> dirs = new java.util.HashSet<>(old == null ? Set.of() : old.dirs());
        Set<ReplicaKey> replicas = new java.util.HashSet<>(old == null ? Set.of() : old.replicas());
        dirs.add(r.getString("dir"));
        replicas.addAll(reported);
        offlineDirs.put(node, new OfflineDirs(incarnation, dirs, replicas));
        List<MetadataDelta.PartitionChange> changes = new ArrayList<>();
        for (TopicImage t : List.copyOf(byId.values())) {
            Map<TopicPartition, PartitionState> affected = new LinkedHashMap<>();
            states(t).forEach((tp, s) -> {
                if (reported.contains(new ReplicaKey(t.info().id(), tp.partition()))) {
                    affected.put(tp, s);
                }
            });
            if (affected.isEmpty()) {
                continue;
            }
            Predicate<String> unclean = name -> uncleanAllowed.test(electionConfigs(t.info().configs()));
            Map<TopicPartition, PartitionState> changed = Elections.brokerFailed(node, affected,
                    tp -> eligibleReplicas(t.info().id(), tp.partition()), unclean);
            if (!changed.isEmpty()) {
                List<PartitionState> next = new ArrayList<>(t.partitions());
                changed.forEach((tp, s) -> {
                    next.set(tp.partition(), s);
                    changes.add(new MetadataDelta.PartitionChange(t.info(), tp.partition(), s));
                });
                put(new TopicImage(t.info(), next));
            }
        }
        return new Applied(new JsonObject().put("changed", changes.size()), brokersDelta(changes));
    }

    private Applied createTopic(JsonObject r) {
        String name = r.getString("name");
        Topic.validate(name);
        if (byName.containsKey(name)) {
            throw new TopicExistsException("Topic '" + name + "' already exists.");
        }
        Uuid id = Uuid.fromString(r.getString("id"));
        if (byId.containsKey(id)) {
            throw new TopicExistsException("Topic id " + id + " is taken");
        }
        int count = r.getInteger("partitions");
        if (count <= 0) {
            throw new InvalidPartitionsException("Number of partitions must be larger than 0.");
        }
        short rf = r.getInteger("replicationFactor").shortValue();
        Map<String, String> configs = MetadataRecords.strings(r.getJsonObject("configs"));
        TopicConfigs.validate(configs);
        TopicInfo info = new TopicInfo(name, id, count, rf, Map.copyOf(configs));
        List<PartitionState> states;
        if (r.containsKey("importedBy")) {
            // a topic of a single node's metadata from before the metadata log: its data are on that node
            int node = r.getInteger("importedBy");
            states = new ArrayList<>();
            for (int p = 0; p < count; p++) {
                states.add(new PartitionState(node, 0, List.of(node), List.of(node), 0));
            }
        } else {
            states = initialStates(count, rf, 0, r);
        }
        TopicImage t = new TopicImage(info, states);
        put(t);
        return new Applied(topicReply(info), new MetadataDelta(List.of(), List.of(info), changesOf(t, 0), false, offset));
    }

    private List<PartitionState> initialStates(int count, short rf, int first, JsonObject r) {
        Set<Integer> live = unfencedBrokers();
        Map<Integer, List<Integer>> assignment = ReplicaAssigner.assign(new ArrayList<>(live), count, rf,
                r.getInteger("start", 0), r.getInteger("shift", 0), first);
        List<PartitionState> states = new ArrayList<>(count);
        assignment.values().forEach(replicas -> states.add(Elections.initial(replicas, live)));
        return states;
    }

    private Applied createPartitions(JsonObject r) {
        TopicImage t = require(r.getString("name"));
        int total = r.getInteger("partitions");
        int current = t.partitions().size();
        if (total <= current) {
            throw new InvalidPartitionsException("Topic currently has " + current
                    + " partitions, which is higher than or equal to the requested " + total + ".");
        }
        List<PartitionState> states = new ArrayList<>(t.partitions());
        states.addAll(initialStates(total - current, t.info().replicationFactor(), current, r));
        TopicInfo info = t.info().withPartitions(total);
        TopicImage next = new TopicImage(info, states);
        put(next);
        return new Applied(topicReply(info), new MetadataDelta(List.of(), List.of(info), changesOf(next, current),
                false, offset));
    }

    private Applied deleteTopic(JsonObject r) {
        TopicImage t = require(r.getString("name"));
        byName.remove(t.info().name());
        byId.remove(t.info().id());
        return new Applied(topicReply(t.info()), new MetadataDelta(List.of(t.info()), List.of(), List.of(), false, offset));
    }

    private Applied alterConfigs(JsonObject r) {
        TopicImage t = require(r.getString("name"));
        Map<String, String> expected = MetadataRecords.strings(r.getJsonObject("expected"));
        if (!t.info().configs().equals(expected)) {
            throw new StaleConfigsException("topic " + t.info().name(), t.info().configs());
        }
        Map<String, String> configs = MetadataRecords.strings(r.getJsonObject("configs"));
        TopicConfigs.validate(configs);
        TopicInfo info = t.info().withConfigs(configs);
        put(new TopicImage(info, t.partitions()));
        return new Applied(topicReply(info), new MetadataDelta(List.of(), List.of(info), List.of(), false, offset));
    }

    /**
     * The overrides an election reads: the topic's, with the cluster-default dynamic
     * unclean.leader.election.enable where the topic has none. Every node elects in its image and all must
     * agree, so a per-broker dynamic value (which Kafka's controller reads for its own node) is not used.
     */
    private Map<String, String> electionConfigs(Map<String, String> topicConfigs) {
        String unclean = brokerConfigs(DynamicBrokerConfigs.CLUSTER_DEFAULT).get(BrokerConfig.UNCLEAN_LEADER_ELECTION_ENABLE);
        if (unclean == null || topicConfigs.containsKey(TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE_CONFIG)) {
            return topicConfigs;
        }
        Map<String, String> m = new HashMap<>(topicConfigs);
        m.put(TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE_CONFIG, unclean);
        return m;
    }

    /**
     * A BROKER resource's new dynamic configs, over the ones they were computed from. Every topic is listed
     * as changed: each one's effective configs may take a default from them.
     */
    private Applied alterBrokerConfigs(JsonObject r) {
        String resource = r.getString("resource", "");
        if (!DynamicBrokerConfigs.isValidResource(resource)) {
            throw new InvalidRequestException("Node id must be an integer, but it is: " + resource);
        }
        Map<String, String> current = brokerConfigs(resource);
        if (!current.equals(MetadataRecords.strings(r.getJsonObject("expected")))) {
            throw new StaleConfigsException(resource.isEmpty() ? "the cluster default" : "broker " + resource, current);
        }
        Map<String, String> configs = DynamicBrokerConfigs.validate(MetadataRecords.strings(r.getJsonObject("configs")));
        if (configs.isEmpty()) {
            brokerConfigs.remove(resource);
        } else {
            brokerConfigs.put(resource, Map.copyOf(configs));
        }
        List<TopicInfo> topics = new ArrayList<>();
        byId.values().forEach(t -> topics.add(t.info()));
        return new Applied(new JsonObject().put("configs", MetadataRecords.strings(configs)),
                new MetadataDelta(List.of(), topics, List.of(), false, offset));
    }

    private Applied alterPartition(JsonObject r) {
        Uuid id = Uuid.fromString(r.getString("topicId"));
        TopicImage t = byId.get(id);
        if (t == null) {
            throw new UnknownTopicIdException("Topic " + r.getString("topic") + " (" + id + ") does not exist");
        }
        int p = r.getInteger("partition");
        if (p < 0 || p >= t.partitions().size()) {
            throw new UnknownTopicOrPartitionException("No partition " + p + " in " + t.info().name());
        }
        PartitionState current = t.partitions().get(p);
        PartitionState expected = new PartitionState(r.getInteger("leader"), r.getInteger("leaderEpoch"),
                current.replicas(), current.isr(), r.getInteger("partitionEpoch"));
        List<Integer> isr = new ArrayList<>();
        r.getJsonArray("isr").forEach(o -> isr.add(((Number) o).intValue()));
        PartitionState next = Elections.alterIsr(current, expected, isr, eligibleReplicas(id, p));
        List<PartitionState> states = new ArrayList<>(t.partitions());
        states.set(p, next);
        put(new TopicImage(t.info(), states));
        return new Applied(stateJson(next), new MetadataDelta(List.of(), List.of(),
                List.of(new MetadataDelta.PartitionChange(t.info(), p, next)), false, offset));
    }

    private Applied allocateProducerIds(JsonObject r) {
        int count = r.getInteger("count");
        if (count <= 0) {
            throw new InvalidRequestException("A producer id block holds at least one id, not " + count);
        }
        long first = nextProducerId;
        nextProducerId = first + count;
        return new Applied(new JsonObject().put("first", first).put("count", count), emptyDelta());
    }

    private TopicImage require(String name) {
        TopicImage t = name == null ? null : byName.get(name);
        if (t == null) {
            throw new UnknownTopicOrPartitionException("The topic '" + name + "' does not exist.");
        }
        return t;
    }

    private void put(TopicImage t) {
        byId.put(t.info().id(), t);
        byName.put(t.info().name(), t);
    }

    private static Map<TopicPartition, PartitionState> states(TopicImage t) {
        Map<TopicPartition, PartitionState> m = new LinkedHashMap<>();
        for (int p = 0; p < t.partitions().size(); p++) {
            m.put(new TopicPartition(t.info().name(), p), t.partitions().get(p));
        }
        return m;
    }

    private static List<MetadataDelta.PartitionChange> changesOf(TopicImage t, int from) {
        List<MetadataDelta.PartitionChange> out = new ArrayList<>();
        for (int p = from; p < t.partitions().size(); p++) {
            out.add(new MetadataDelta.PartitionChange(t.info(), p, t.partitions().get(p)));
        }
        return out;
    }

    private MetadataDelta emptyDelta() {
        return new MetadataDelta(List.of(), List.of(), List.of(), false, offset);
    }

    private MetadataDelta brokersDelta(List<MetadataDelta.PartitionChange> changes) {
        return new MetadataDelta(List.of(), List.of(), changes, true, offset);
    }

    static JsonObject topicReply(TopicInfo t) {
        return new JsonObject().put("name", t.name()).put("id", t.id().toString()).put("partitions", t.partitions())
                .put("replicationFactor", (int) t.replicationFactor()).put("configs", MetadataRecords.strings(t.configs()));
    }

    static TopicInfo topicFromReply(JsonObject j) {
        return new TopicInfo(j.getString("name"), Uuid.fromString(j.getString("id")), j.getInteger("partitions"),
                j.getInteger("replicationFactor").shortValue(), Map.copyOf(MetadataRecords.strings(j.getJsonObject("configs"))));
    }

    static JsonObject stateJson(PartitionState s) {
        return new JsonObject().put("leader", s.leader()).put("leaderEpoch", s.leaderEpoch())
                .put("replicas", new JsonArray(s.replicas())).put("isr", new JsonArray(s.isr()))
                .put("partitionEpoch", s.partitionEpoch());
    }

    static PartitionState stateFromJson(JsonObject j) {
        return new PartitionState(j.getInteger("leader"), j.getInteger("leaderEpoch"), ints(j.getJsonArray("replicas")),
                ints(j.getJsonArray("isr")), j.getInteger("partitionEpoch"));
    }

    private static List<Integer> ints(JsonArray a) {
        List<Integer> out = new ArrayList<>(a.size());
        a.forEach(o -> out.add(((Number) o).intValue()));
        return out;
    }

    // ---- snapshots

    /** The whole image as JSON (a snapshot's content). Called on the apply thread. */
    public JsonObject toJson() {
        JsonArray bs = new JsonArray();
        brokers.values().forEach(b -> {
            JsonObject o = new JsonObject().put("node", b.nodeId())
                    .put("incarnation", b.incarnation().toString()).put("host", b.host()).put("port", b.port())
                    .put("epoch", b.epoch()).put("fenced", b.fenced());
            if (!b.listeners().isEmpty()) {
                o.put("listeners", new JsonObject(new java.util.TreeMap<>(b.listeners())));
            }
            bs.add(o);
        });
        JsonArray ts = new JsonArray();
        byId.values().forEach(t -> {
            JsonArray ps = new JsonArray();
            t.partitions().forEach(s -> ps.add(stateJson(s)));
            ts.add(topicReply(t.info()).put("states", ps));
        });
        JsonObject cs = new JsonObject();
        brokerConfigs.forEach((resource, configs) -> cs.put(resource, MetadataRecords.strings(configs)));
        JsonArray od = new JsonArray();
        offlineDirs.forEach((node, o) -> {
            JsonArray rs = new JsonArray();
            o.replicas().stream().sorted(java.util.Comparator.comparing((ReplicaKey k) -> k.topicId().toString())
                    .thenComparingInt(ReplicaKey::partition)).forEach(k -> rs.add(new JsonObject()
                    .put("topicId", k.topicId().toString()).put("partition", k.partition())));
            od.add(new JsonObject().put("node", node).put("incarnation", o.incarnation().toString())
                    .put("dirs", new JsonArray(o.dirs().stream().sorted().toList())).put("replicas", rs));
        });
        return new JsonObject().put("offset", offset).put("controllerEpoch", controllerEpoch)
                .put("nextProducerId", nextProducerId).put("brokers", bs).put("topics", ts).put("brokerConfigs", cs)
                .put("offlineDirs", od).put("scramCredentials", scram.toJson())
                .put(AclRecords.SNAPSHOT_KEY, acls.toJson())
                .put(ClientQuotaRecords.SNAPSHOT_KEY, clientQuotas.toJson());
    }

    /** Replaces the image by a snapshot's content. Called on the apply thread, before anything reads it. */
    public void load(JsonObject j) {
        brokers.clear();
        byId.clear();
        byName.clear();
        brokerConfigs.clear();
        offlineDirs.clear();
        // absent from snapshots taken before ACLs existed
        acls = io.runnel.security.AclIndex.fromJson(j.getJsonArray(AclRecords.SNAPSHOT_KEY));
        offset = j.getLong("offset", -1L);
        controllerEpoch = j.getLong("controllerEpoch", 0L);
        nextProducerId = j.getLong("nextProducerId", 0L);
        j.getJsonArray("brokers", new JsonArray()).forEach(o -> {
            JsonObject b = (JsonObject) o;
            brokers.put(b.getInteger("node"), new BrokerRegistration(b.getInteger("node"),
                    Uuid.fromString(b.getString("incarnation")), b.getString("host"), b.getInteger("port"),
                    b.getLong("epoch"), b.getBoolean("fenced"), BrokerRegistration.listeners(b.getJsonObject("listeners"))));
        });
        j.getJsonArray("topics", new JsonArray()).forEach(o -> {
            JsonObject t = (JsonObject) o;
            List<PartitionState> states = new ArrayList<>();
            t.getJsonArray("states").forEach(s -> states.add(stateFromJson((JsonObject) s)));
            put(new TopicImage(topicFromReply(t), states));
        });
        // absent from snapshots taken before dynamic broker configs existed
        j.getJsonObject("brokerConfigs", new JsonObject()).forEach(e -> {
            Map<String, String> configs = MetadataRecords.strings((JsonObject) e.getValue());
            if (!configs.isEmpty()) {
                brokerConfigs.put(e.getKey(), Map.copyOf(configs));
            }
        });
        // absent from snapshots taken before SCRAM credentials were kept
        scram.load(j.getJsonObject("scramCredentials"));
        // absent from snapshots taken before client quotas were kept
        clientQuotas.load(j.getJsonArray(ClientQuotaRecords.SNAPSHOT_KEY));
        // absent from snapshots taken before offline log directories were reported
        j.getJsonArray("offlineDirs", new JsonArray()).forEach(o -> {
            JsonObject d = (JsonObject) o;
            Set<String> dirs = new java.util.HashSet<>();
            d.getJsonArray("dirs").forEach(x -> dirs.add((String) x));
            Set<ReplicaKey> replicas = new java.util.HashSet<>();
            d.getJsonArray("replicas").forEach(x -> {
                JsonObject k = (JsonObject) x;
                replicas.add(new ReplicaKey(Uuid.fromString(k.getString("topicId")), k.getInteger("partition")));
            });
            offlineDirs.put(d.getInteger("node"), new OfflineDirs(Uuid.fromString(d.getString("incarnation")), dirs,
                    replicas));
        });
    }
}
