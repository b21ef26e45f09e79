package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import io.runnel.cluster.PartitionState;
import io.runnel.cluster.StaleConfigsException;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.DuplicateBrokerRegistrationException;
import org.apache.kafka.common.errors.FencedLeaderEpochException;
import org.apache.kafka.common.errors.IneligibleReplicaException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidUpdateVersionException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.junit.jupiter.api.Test;

/** The metadata records' rules, applied as every node applies them: in order, preconditions checked at apply. */
class MetadataImageTest {

    private final MetadataImage image = new MetadataImage(overrides -> "true".equals(overrides.get("unclean.leader.election.enable")));
    private long index;
    private final Map<Integer, Uuid> incarnations = new java.util.HashMap<>();

    private MetadataImage.Applied apply(JsonObject record) {
        return image.apply(record, ++index, 1);
    }

    private void broker(int id) {
        Uuid inc = Uuid.randomUuid();
        incarnations.put(id, inc);
        apply(MetadataRecords.registerBroker(id, inc, "127.0.0.1", 9090 + id));
        apply(MetadataRecords.unfenceBroker(id, inc));
    }

    private PartitionState state(String topic, int p) {
        return image.partition(new TopicPartition(topic, p));
    }

    @Test
    void aTopicAppearsWholeWithEveryPartitionLedAndAllReplicasInSync() {
        broker(1);
        broker(2);
        broker(3);
        MetadataImage.Applied a = apply(MetadataRecords.createTopic("t", Uuid.randomUuid(), 6, (short) 3, Map.of(), 0, 0));
        assertThat(a.delta().partitions()).hasSize(6);
        for (int p = 0; p < 6; p++) {
            PartitionState s = state("t", p);
            assertThat(s.replicas()).hasSize(3).doesNotHaveDuplicates();
            assertThat(s.isr()).containsExactlyElementsOf(s.replicas());
            assertThat(s.leader()).isEqualTo(s.replicas().get(0));
        }
    }

    @Test
    void fencedBrokersGetNoReplicasAndTooFewBrokersRefuseTheReplicationFactor() {
        broker(1);
        broker(2);
        apply(MetadataRecords.registerBroker(3, Uuid.randomUuid(), "127.0.0.1", 9093)); // registered, still fenced
        assertThatThrownBy(() -> apply(MetadataRecords.createTopic("t", Uuid.randomUuid(), 1, (short) 3, Map.of(), 0, 0)))
                .isInstanceOf(InvalidReplicationFactorException.class);
        assertThat(image.topic("t")).isNull();
    }

    @Test
    void aSecondProcessWithTheSameNodeIdIsRefusedUntilTheFirstIsFenced() {
        broker(1);
        Uuid other = Uuid.randomUuid();
        assertThatThrownBy(() -> apply(MetadataRecords.registerBroker(1, other, "127.0.0.1", 9999)))
                .isInstanceOf(DuplicateBrokerRegistrationException.class);
        apply(MetadataRecords.fenceBroker(1, incarnations.get(1)));
        apply(MetadataRecords.registerBroker(1, other, "127.0.0.1", 9999));
        assertThat(image.broker(1).incarnation()).isEqualTo(other);
        assertThat(image.broker(1).fenced()).isTrue();
    }

    @Test
    void fencingTheLeaderElectsAnotherInSyncReplicaAndBumpsTheEpochs() {
        broker(1);
        broker(2);
        broker(3);
        apply(MetadataRecords.createTopic("t", Uuid.randomUuid(), 1, (short) 3, Map.of(), 0, 0));
        PartitionState before = state("t", 0);
        int leader = before.leader();
        apply(MetadataRecords.fenceBroker(leader, incarnations.get(leader)));
        PartitionState after = state("t", 0);
        assertThat(after.leader()).isNotEqualTo(leader).isIn(before.isr());
        assertThat(after.isr()).doesNotContain(leader);
        assertThat(after.leaderEpoch()).isEqualTo(before.leaderEpoch() + 1);
        assertThat(after.partitionEpoch()).isGreaterThan(before.partitionEpoch());
    }

    @Test
    void theLastInSyncReplicaIsTheOnlyOneElectedWhenItReturns() {
        broker(1);
        broker(2);
        apply(MetadataRecords.createTopic("t", Uuid.randomUuid(), 1, (short) 2, Map.of(), 0, 0));
        int first = state("t", 0).leader();
        int second = first == 1 ? 2 : 1;
        apply(MetadataRecords.fenceBroker(first, incarnations.get(first)));
        apply(MetadataRecords.fenceBroker(second, incarnations.get(second)));
        assertThat(state("t", 0).leader()).isEqualTo(-1);
        assertThat(state("t", 0).isr()).containsExactly(second);
        apply(MetadataRecords.registerBroker(first, incarnations.get(first), "127.0.0.1", 1));
        apply(MetadataRecords.unfenceBroker(first, incarnations.get(first)));
        assertThat(state("t", 0).leader()).as("an out-of-sync replica is not elected").isEqualTo(-1);
        apply(MetadataRecords.unfenceBroker(second, incarnations.get(second)));
        assertThat(state("t", 0).leader()).isEqualTo(second);
    }

    @Test
    void anIsrChangeIsAppliedOnlyOverTheStateItWasComputedFrom() {
        broker(1);
        broker(2);
        broker(3);
        Uuid id = Uuid.randomUuid();
        apply(MetadataRecords.createTopic("t", id, 1, (short) 3, Map.of(), 0, 0));
        TopicPartition tp = new TopicPartition("t", 0);
        PartitionState s = state("t", 0);
        List<Integer> shrunk = List.of(s.leader());
        apply(MetadataRecords.alterPartition(id, tp, s, shrunk));
        assertThat(state("t", 0).isr()).containsExactly(s.leader());
        assertThatThrownBy(() -> apply(MetadataRecords.alterPartition(id, tp, s, s.replicas())))
                .isInstanceOf(InvalidUpdateVersionException.class);
        PartitionState stale = new PartitionState(s.leader(), s.leaderEpoch() - 1, s.replicas(), s.isr(),
                state("t", 0).partitionEpoch());
        assertThatThrownBy(() -> apply(MetadataRecords.alterPartition(id, tp, stale, s.replicas())))
                .isInstanceOf(FencedLeaderEpochException.class);
        int follower = s.replicas().stream().filter(r -> r != s.leader()).findFirst().orElseThrow();
        apply(MetadataRecords.fenceBroker(follower, incarnations.get(follower)));
        assertThatThrownBy(() -> apply(MetadataRecords.alterPartition(id, tp, state("t", 0), s.replicas())))
                .isInstanceOf(IneligibleReplicaException.class);
    }

    @Test
    void aTopicDeletedAndRecreatedSharesNothingWithItsPredecessor() {
        broker(1);
        Uuid first = Uuid.randomUuid();
        apply(MetadataRecords.createTopic("t", first, 2, (short) 1, Map.of(), 0, 0));
        assertThatThrownBy(() -> apply(MetadataRecords.createTopic("t", Uuid.randomUuid(), 1, (short) 1, Map.of(), 0, 0)))
                .isInstanceOf(TopicExistsException.class);
        MetadataImage.Applied deleted = apply(MetadataRecords.deleteTopic("t"));
        assertThat(deleted.delta().deletedTopics()).extracting(t -> t.id()).containsExactly(first);
        Uuid second = Uuid.randomUuid();
        apply(MetadataRecords.createTopic("t", second, 1, (short) 1, Map.of(), 0, 0));
        assertThat(image.topic("t").info().id()).isEqualTo(second);
        assertThat(image.topic(first)).isNull();
        // a leader of the old topic cannot change the new one's state
        assertThatThrownBy(() -> apply(MetadataRecords.alterPartition(first, new TopicPartition("t", 0),
                state("t", 0), List.of(1)))).isInstanceOf(org.apache.kafka.common.errors.UnknownTopicIdException.class);
    }

    @Test
    void configChangesComputedFromStaleOverridesAreRefused() {
        broker(1);
        apply(MetadataRecords.createTopic("t", Uuid.randomUuid(), 1, (short) 1, Map.of("retention.ms", "1000"), 0, 0));
        apply(MetadataRecords.alterConfigs("t", Map.of("retention.ms", "1000"), Map.of("retention.ms", "2000")));
        assertThatThrownBy(() -> apply(MetadataRecords.alterConfigs("t", Map.of("retention.ms", "1000"), Map.of())))
                .isInstanceOf(StaleConfigsException.class);
        assertThat(image.topic("t").info().configs()).containsEntry("retention.ms", "2000");
    }

    @Test
    void brokerConfigChangesAreComparedAndSetAndValidatedAtApply() {
        broker(1);
        apply(MetadataRecords.createTopic("t", Uuid.randomUuid(), 1, (short) 1, Map.of(), 0, 0));
        MetadataImage.Applied a = apply(MetadataRecords.alterBrokerConfigs("", Map.of(),
                Map.of("log.retention.ms", "1000")));
        assertThat(a.delta().changedTopics()).as("every topic's defaults changed").extracting(t -> t.name())
                .containsExactly("t");
        assertThat(image.brokerConfigs("")).containsExactly(Map.entry("log.retention.ms", "1000"));
        assertThat(image.brokerLayers(1).clusterDefault()).isSameAs(image.brokerConfigs(""));

        assertThatThrownBy(() -> apply(MetadataRecords.alterBrokerConfigs("", Map.of(), Map.of("log.retention.ms", "5"))))
                .isInstanceOf(StaleConfigsException.class);
        assertThatThrownBy(() -> apply(MetadataRecords.alterBrokerConfigs("1", Map.of(), Map.of("num.partitions", "5"))))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessage("Cannot update these configs dynamically: Set(num.partitions)");
        assertThatThrownBy(() -> apply(MetadataRecords.alterBrokerConfigs("1", Map.of(), Map.of("min.insync.replicas", "0"))))
                .isInstanceOf(InvalidConfigurationException.class).hasMessageContaining("min.insync.replicas");
        assertThatThrownBy(() -> apply(MetadataRecords.alterBrokerConfigs("x", Map.of(), Map.of())))
                .isInstanceOf(InvalidRequestException.class);
        assertThat(image.brokerConfigs("1")).isEmpty();

        apply(MetadataRecords.alterBrokerConfigs("1", Map.of(), Map.of("log.segment.bytes", "2097152")));
        assertThat(image.brokerLayers(1).node()).containsExactly(Map.entry("log.segment.bytes", "2097152"));
        assertThat(image.brokerLayers(2).node()).isEmpty();
        apply(MetadataRecords.alterBrokerConfigs("", Map.of("log.retention.ms", "1000"), Map.of()));
        assertThat(image.brokerConfigs("")).isEmpty();
    }

    @Test
    void aClusterDefaultUncleanElectionReachesElectionsUnlessTheTopicSaysOtherwise() {
        broker(1);
        broker(2);
        apply(MetadataRecords.createTopic("t", Uuid.randomUuid(), 1, (short) 2, Map.of(), 0, 0));
        apply(MetadataRecords.createTopic("clean", Uuid.randomUuid(), 1, (short) 2,
                Map.of("unclean.leader.election.enable", "false"), 0, 0));
        apply(MetadataRecords.alterBrokerConfigs("", Map.of(), Map.of("unclean.leader.election.enable", "true")));
        for (String topic : List.of("t", "clean")) {
            int first = state(topic, 0).leader();
            int second = first == 1 ? 2 : 1;
            Uuid id = image.topic(topic).info().id();
            apply(MetadataRecords.alterPartition(id, new TopicPartition(topic, 0), state(topic, 0), List.of(first)));
        }
        // the in-sync leader of each goes; only an out-of-sync replica is left
        apply(MetadataRecords.fenceBroker(state("t", 0).leader(), incarnations.get(state("t", 0).leader())));
        assertThat(state("t", 0).leader()).as("unclean election by the cluster default").isNotEqualTo(-1);
        int leaderOfClean = state("clean", 0).leader();
        if (leaderOfClean != -1) {
            // led by the other broker: fence that one too
            apply(MetadataRecords.fenceBroker(leaderOfClean, incarnations.get(leaderOfClean)));
        }
        assertThat(state("clean", 0).leader()).as("the topic's own false wins").isEqualTo(-1);
    }

    @Test
    void producerIdBlocksNeverOverlap() {
        long a = apply(MetadataRecords.allocateProducerIds(1, 1000)).reply().getLong("first");
        long b = apply(MetadataRecords.allocateProducerIds(2, 1000)).reply().getLong("first");
        assertThat(b).isGreaterThanOrEqualTo(a + 1000);
    }

    @Test
    void aRegistrationKeepsEveryListenersEndpointThroughASnapshot() {
        Uuid inc = Uuid.randomUuid();
        apply(MetadataRecords.registerBroker(4, inc, "10.0.0.4", 9092, Map.of("PLAINTEXT", "10.0.0.4:9092",
                "SASL_SSL", "broker4.example.org:9094")));
        MetadataImage copy = new MetadataImage(o -> false);
        copy.load(new JsonObject(image.toJson().encode()));
        BrokerRegistration b = copy.broker(4);
        assertThat(b.listeners()).containsOnly(Map.entry("PLAINTEXT", "10.0.0.4:9092"),
                Map.entry("SASL_SSL", "broker4.example.org:9094"));
        io.runnel.cluster.BrokerEndpoint endpoint = new io.runnel.cluster.BrokerEndpoint(4, b.host(), b.port(), b.listeners());
        assertThat(endpoint.on("SASL_SSL")).extracting(e -> e.host() + ":" + e.port())
                .isEqualTo("broker4.example.org:9094");
        assertThat(endpoint.on("SSL")).as("a broker without the client's listener is left out").isNull();
        assertThat(new io.runnel.cluster.BrokerEndpoint(5, "h", 1).on("SSL"))
                .as("a registration without listeners (an older record) answers with its endpoint")
                .extracting(e -> e.host() + ":" + e.port()).isEqualTo("h:1");
    }

    @Test
    void aSnapshotRestoresTheWholeImage() {
        broker(1);
        broker(2);
        apply(MetadataRecords.createTopic("t", Uuid.randomUuid(), 3, (short) 2, Map.of("retention.ms", "5"), 0, 0));
        apply(MetadataRecords.allocateProducerIds(1, 1000));
        apply(MetadataRecords.alterBrokerConfigs("", Map.of(), Map.of("log.retention.ms", "1000")));
        apply(MetadataRecords.alterBrokerConfigs("2", Map.of(), Map.of("min.insync.replicas", "2")));
        MetadataImage copy = new MetadataImage(o -> false);
        copy.load(new JsonObject(image.toJson().encode()));
        assertThat(copy.toJson()).isEqualTo(image.toJson());
        assertThat(copy.brokerConfigs("")).containsExactly(Map.entry("log.retention.ms", "1000"));
        assertThat(copy.brokerConfigs("2")).containsExactly(Map.entry("min.insync.replicas", "2"));
        assertThat(copy.topic("t").partitions()).isEqualTo(image.topic("t").partitions());
        assertThat(copy.apply(MetadataRecords.allocateProducerIds(1, 1), 100, 2).reply().getLong("first")).isEqualTo(1000);
    }

    @Test
    void aSnapshotFromBeforeDynamicBrokerConfigsLoadsWithNone() {
        broker(1);
        apply(MetadataRecords.alterBrokerConfigs("", Map.of(), Map.of("log.retention.ms", "1000")));
        JsonObject old = image.toJson();
        old.remove("brokerConfigs");
        MetadataImage copy = new MetadataImage(o -> false);
        copy.load(old);
        assertThat(copy.brokerConfigs("")).isEmpty();
        assertThat(copy.broker(1)).isNotNull();
    }

    /** The partitions of {@code topic} that broker {@code node} leads, and those it only follows. */
    private Map<Boolean, List<Integer>> ledBy(String topic, int node) {
        Map<Boolean, List<Integer>> m = new java.util.HashMap<>(Map.of(true, new java.util.ArrayList<>(),
                false, new java.util.ArrayList<>()));
        for (int p = 0; p < image.topic(topic).partitions().size(); p++) {
            m.get(state(topic, p).leader() == node).add(p);
        }
        return m;
    }

    @Test
    void aFailedLogDirMovesItsLeadershipsAndTakesItsReplicasOutOfTheIsr() {
        broker(1);
        broker(2);
        broker(3);
        Uuid id = Uuid.randomUuid();
        apply(MetadataRecords.createTopic("t", id, 6, (short) 3, Map.of(), 0, 0));
        Map<Boolean, List<Integer>> led = ledBy("t", 1);
        assertThat(led.get(true)).isNotEmpty();
        assertThat(led.get(false)).hasSizeGreaterThan(1);
        // broker 1's failed directory held one partition it led and one it followed; the rest is elsewhere
        int leading = led.get(true).get(0);
        int following = led.get(false).get(0);
        int untouched = led.get(false).get(1);
        PartitionState leadingBefore = state("t", leading);
        PartitionState followingBefore = state("t", following);
        PartitionState untouchedBefore = state("t", untouched);
        MetadataImage.Applied a = apply(MetadataRecords.logDirOffline(1, incarnations.get(1), "/data/b",
                Map.of(id, List.of(leading, following))));

        assertThat(a.delta().partitions()).hasSize(2);
        assertThat(state("t", leading).leader()).isNotEqualTo(1).isIn(leadingBefore.isr());
        assertThat(state("t", leading).leaderEpoch()).isEqualTo(leadingBefore.leaderEpoch() + 1);
        assertThat(state("t", leading).isr()).doesNotContain(1).hasSize(2);
        assertThat(state("t", following).leader()).isEqualTo(followingBefore.leader());
        assertThat(state("t", following).leaderEpoch()).isEqualTo(followingBefore.leaderEpoch());
        assertThat(state("t", following).isr()).doesNotContain(1).hasSize(2);
        assertThat(state("t", untouched)).isEqualTo(untouchedBefore);
        assertThat(image.broker(1).fenced()).as("the broker serves its other directories").isFalse();
        assertThat(image.offlineDirs(1)).containsExactly("/data/b");
        assertThat(image.replicaOffline(1, id, leading)).isTrue();
        assertThat(image.replicaOffline(1, id, untouched)).isFalse();
        assertThat(image.eligibleReplicas(id, leading)).containsExactly(2, 3);
    }

    @Test
    void aReplicaInAnOfflineDirIsNeitherElectedNorReadmittedUntilItsProcessIsReplaced() {
        broker(1);
        broker(2);
        broker(3);
        Uuid id = Uuid.randomUuid();
        apply(MetadataRecords.createTopic("t", id, 1, (short) 3, Map.of(), 0, 0));
        TopicPartition tp = new TopicPartition("t", 0);
        apply(MetadataRecords.logDirOffline(1, incarnations.get(1), "/data/b", Map.of(id, List.of(0))));
        PartitionState s = state("t", 0);
        assertThat(s.isr()).containsExactlyInAnyOrder(2, 3);
        assertThatThrownBy(() -> apply(MetadataRecords.alterPartition(id, tp, s, List.of(s.leader(), 1, 5 - s.leader()))))
                .as("the leader cannot bring it back into the ISR").isInstanceOf(IneligibleReplicaException.class);

        // 2 and 3 go: 1 is live but its replica is offline, so the partition has no leader, ISR left at its last
        apply(MetadataRecords.fenceBroker(2, incarnations.get(2)));
        apply(MetadataRecords.fenceBroker(3, incarnations.get(3)));
        assertThat(state("t", 0).leader()).isEqualTo(-1);
        assertThat(state("t", 0).isr()).doesNotContain(1).hasSize(1);
        int last = state("t", 0).isr().get(0);
        // a pause of broker 1 (fenced, then back) changes nothing
        apply(MetadataRecords.fenceBroker(1, incarnations.get(1)));
        apply(MetadataRecords.unfenceBroker(1, incarnations.get(1)));
        assertThat(state("t", 0).leader()).isEqualTo(-1);

        // broker 1 restarts with its directory back: a new process, eligible again, but out of sync
        Uuid restarted = Uuid.randomUuid();
        apply(MetadataRecords.fenceBroker(1, incarnations.get(1)));
        apply(MetadataRecords.registerBroker(1, restarted, "127.0.0.1", 9091));
        apply(MetadataRecords.unfenceBroker(1, restarted));
        assertThat(image.offlineDirs(1)).isEmpty();
        assertThat(state("t", 0).leader()).as("out of sync: not elected").isEqualTo(-1);
        apply(MetadataRecords.unfenceBroker(last, incarnations.get(last)));
        assertThat(state("t", 0).leader()).isEqualTo(last);
        apply(MetadataRecords.alterPartition(id, tp, state("t", 0), List.of(last, 1)));
        assertThat(state("t", 0).isr()).containsExactly(last, 1);
    }

    @Test
    void theLastInSyncReplicaStaysInTheIsrWhenItsDirFailsAndNoOneElseIsElected() {
        broker(1);
        broker(2);
        Uuid id = Uuid.randomUuid();
        apply(MetadataRecords.createTopic("t", id, 1, (short) 2, Map.of(), 0, 0));
        TopicPartition tp = new TopicPartition("t", 0);
        PartitionState s = state("t", 0);
        int leader = s.leader();
        apply(MetadataRecords.alterPartition(id, tp, s, List.of(leader)));
        apply(MetadataRecords.logDirOffline(leader, incarnations.get(leader), "/d", Map.of(id, List.of(0))));
        assertThat(state("t", 0).leader()).as("the out-of-sync replica is not elected").isEqualTo(-1);
        assertThat(state("t", 0).isr()).containsExactly(leader);
    }

    @Test
    void anOfflineDirOfAProcessThatIsGoneIsRefused() {
        broker(1);
        assertThatThrownBy(() -> apply(MetadataRecords.logDirOffline(1, Uuid.randomUuid(), "/d", Map.of())))
                .isInstanceOf(org.apache.kafka.common.errors.StaleBrokerEpochException.class);
        assertThat(image.offlineDirs(1)).isEmpty();
    }

    @Test
    void aSnapshotKeepsTheOfflineDirs() {
        broker(1);
        broker(2);
        Uuid id = Uuid.randomUuid();
        apply(MetadataRecords.createTopic("t", id, 4, (short) 2, Map.of(), 0, 0));
        apply(MetadataRecords.logDirOffline(1, incarnations.get(1), "/d2", Map.of(id, List.of(3, 0, 1))));
        apply(MetadataRecords.logDirOffline(1, incarnations.get(1), "/d3", Map.of(id, List.of(2))));
        MetadataImage copy = new MetadataImage(o -> false);
        copy.load(new JsonObject(image.toJson().encode()));
        assertThat(copy.toJson()).isEqualTo(image.toJson());
        assertThat(copy.offlineDirs(1)).containsExactlyInAnyOrder("/d2", "/d3");
        for (int p = 0; p < 4; p++) {
            assertThat(copy.replicaOffline(1, id, p)).isTrue();
        }
        JsonObject old = image.toJson();
        old.remove("offlineDirs");
        MetadataImage older = new MetadataImage(o -> false);
        older.load(old);
        assertThat(older.offlineDirs(1)).isEmpty();
    }
}
