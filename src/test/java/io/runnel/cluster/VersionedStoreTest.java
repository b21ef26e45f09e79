package io.runnel.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VersionedStoreTest {

    private static final TopicPartition TP = new TopicPartition("t", 0);

    @TempDir
    Path dir;

    private static PartitionState s(int leader, int leaderEpoch, int partitionEpoch) {
        return new PartitionState(leader, leaderEpoch, List.of(1, 2, 3), List.of(1, 2, 3), partitionEpoch);
    }

    @Test
    void partitionEpochsNeverGoBackwardsAcrossRestarts() {
        VersionedStore<TopicPartition, PartitionState> store = PartitionStateStore.open(dir);
        store.load();
        assertThat(store.offer(TP, s(1, 3, 7))).isTrue();
        assertThat(store.offer(TP, s(2, 2, 9))).as("older leader epoch").isFalse();
        assertThat(store.offer(TP, s(1, 3, 7))).as("same state again").isFalse();
        assertThat(store.offer(TP, s(1, 3, 8))).isTrue();

        VersionedStore<TopicPartition, PartitionState> reopened = PartitionStateStore.open(dir);
        reopened.load();
        assertThat(reopened.get(TP)).isEqualTo(s(1, 3, 8));
        assertThat(reopened.offer(TP, s(3, 2, 20))).isFalse();
    }

    @Test
    void fullRestartTakesTheNewestStateEachBrokerSaw() {
        TopicPartition other = new TopicPartition("t", 1);
        Map<TopicPartition, PartitionState> merged = VersionedStore.merge(List.of(
                Map.of(TP, s(1, 4, 10), other, s(2, 1, 3)),
                Map.of(TP, s(2, 5, 11), other, s(2, 1, 2)),
                Map.of(TP, s(1, 4, 12))), PartitionStateStore::newer);
        assertThat(merged.get(TP)).isEqualTo(s(2, 5, 11));
        assertThat(merged.get(other)).isEqualTo(s(2, 1, 3));
    }

    @Test
    void aDeletedTopicOutranksEveryLiveVersionOfIt() {
        Uuid id = Uuid.randomUuid();
        TopicRecord created = new TopicRecord(id, "orders", 3, (short) 3, Map.of(), 0, false);
        TopicRecord altered = created.withConfigs(Map.of("retention.ms", "1000")).withPartitions(6);
        TopicRecord deleted = created.tombstone();
        // a broker that was down saw only the later alterations, another saw the deletion
        Map<Uuid, TopicRecord> merged = VersionedStore.merge(List.of(Map.of(id, altered), Map.of(id, deleted)),
                TopicRecord::newer);
        assertThat(merged.get(id).deleted()).isTrue();

        VersionedStore<Uuid, TopicRecord> store = TopicRecord.open(dir);
        assertThat(store.offer(id, deleted)).isTrue();
        assertThat(store.offer(id, altered)).isFalse();
        VersionedStore<Uuid, TopicRecord> reopened = TopicRecord.open(dir);
        reopened.load();
        assertThat(reopened.get(id)).isEqualTo(deleted);
    }
}
