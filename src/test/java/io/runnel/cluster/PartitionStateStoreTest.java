package io.runnel.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartitionStateStoreTest {

    private static final TopicPartition TP = new TopicPartition("t", 0);

    @TempDir
    Path dir;

    private static PartitionState s(int leader, int leaderEpoch, int partitionEpoch) {
        return new PartitionState(leader, leaderEpoch, List.of(1, 2, 3), List.of(1, 2, 3), partitionEpoch);
    }

    @Test
    void epochsNeverGoBackwardsAcrossRestarts() {
        PartitionStateStore store = new PartitionStateStore(dir);
        store.load();
        assertThat(store.offer(TP, s(1, 3, 7))).isTrue();
        assertThat(store.offer(TP, s(2, 2, 9))).as("older leader epoch").isFalse();
        assertThat(store.offer(TP, s(1, 3, 7))).as("same state again").isFalse();
        assertThat(store.offer(TP, s(1, 3, 8))).isTrue();

        PartitionStateStore reopened = new PartitionStateStore(dir);
        reopened.load();
        assertThat(reopened.get(TP)).isEqualTo(s(1, 3, 8));
        assertThat(reopened.offer(TP, s(3, 2, 20))).isFalse();
    }

    @Test
    void fullRestartTakesTheNewestStateEachBrokerSaw() {
        TopicPartition other = new TopicPartition("t", 1);
        Map<TopicPartition, PartitionState> broker1 = Map.of(TP, s(1, 4, 10), other, s(2, 1, 3));
        Map<TopicPartition, PartitionState> broker2 = Map.of(TP, s(2, 5, 11), other, s(2, 1, 2));
        Map<TopicPartition, PartitionState> broker3 = Map.of(TP, s(1, 4, 12));
        Map<TopicPartition, PartitionState> merged = PartitionStateStore.merge(List.of(broker1, broker2, broker3));
        assertThat(merged.get(TP)).isEqualTo(s(2, 5, 11));
        assertThat(merged.get(other)).isEqualTo(s(2, 1, 3));
    }
}
