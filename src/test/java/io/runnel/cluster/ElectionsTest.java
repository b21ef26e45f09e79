package io.runnel.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.FencedLeaderEpochException;
import org.apache.kafka.common.errors.IneligibleReplicaException;
import org.apache.kafka.common.errors.InvalidUpdateVersionException;
import org.junit.jupiter.api.Test;

class ElectionsTest {

    private static final TopicPartition TP = new TopicPartition("t", 0);

    private static PartitionState state(int leader, int leaderEpoch, List<Integer> isr, int partitionEpoch) {
        return new PartitionState(leader, leaderEpoch, List.of(1, 2, 3), isr, partitionEpoch);
    }

    @Test
    void failedLeaderIsReplacedByTheFirstLiveInSyncReplicaWithANewEpoch() {
        Map<TopicPartition, PartitionState> changes = Elections.brokerFailed(1,
                Map.of(TP, state(1, 4, List.of(1, 2, 3), 9)), Set.of(2, 3), t -> false);
        assertThat(changes.get(TP)).isEqualTo(new PartitionState(2, 5, List.of(1, 2, 3), List.of(2, 3), 10));
    }

    @Test
    void failedFollowerOnlyLeavesTheIsr() {
        Map<TopicPartition, PartitionState> changes = Elections.brokerFailed(3,
                Map.of(TP, state(1, 4, List.of(1, 2, 3), 9)), Set.of(1, 2), t -> false);
        assertThat(changes.get(TP)).isEqualTo(new PartitionState(1, 4, List.of(1, 2, 3), List.of(1, 2), 10));
    }

    @Test
    void outOfSyncReplicasAreNeverElectedCleanly() {
        // only 1 is in sync; 2 and 3 are live but behind
        Map<TopicPartition, PartitionState> changes = Elections.brokerFailed(1,
                Map.of(TP, state(1, 4, List.of(1), 9)), Set.of(2, 3), t -> false);
        PartitionState s = changes.get(TP);
        assertThat(s.leader()).isEqualTo(Elections.NO_LEADER);
        assertThat(s.isr()).as("the last in-sync replica stays, so only it can lead again").containsExactly(1);
        assertThat(s.leaderEpoch()).isEqualTo(5);
    }

    @Test
    void uncleanElectionPicksALiveReplicaOnlyWhenTheTopicAllowsIt() {
        Map<TopicPartition, PartitionState> changes = Elections.brokerFailed(1,
                Map.of(TP, state(1, 4, List.of(1), 9)), Set.of(2, 3), t -> true);
        assertThat(changes.get(TP).leader()).isEqualTo(2);
        assertThat(changes.get(TP).isr()).containsExactly(2);
    }

    @Test
    void returningLastInSyncReplicaIsElected() {
        PartitionState leaderless = new PartitionState(-1, 5, List.of(1, 2, 3), List.of(1), 10);
        assertThat(Elections.brokerJoined(2, Map.of(TP, leaderless), Set.of(2, 3), t -> false)).isEmpty();
        Map<TopicPartition, PartitionState> changes = Elections.brokerJoined(1, Map.of(TP, leaderless),
                Set.of(1, 2, 3), t -> false);
        assertThat(changes.get(TP)).isEqualTo(new PartitionState(1, 6, List.of(1, 2, 3), List.of(1), 11));
    }

    @Test
    void isrChangesAreCompareAndSetOnThePartitionEpoch() {
        PartitionState current = state(1, 4, List.of(1, 2), 9);
        PartitionState expanded = Elections.alterIsr(current, current, List.of(1, 2, 3), Set.of(1, 2, 3));
        assertThat(expanded).isEqualTo(state(1, 4, List.of(1, 2, 3), 10));
        // the same proposal again is stale now
        assertThatThrownBy(() -> Elections.alterIsr(expanded, current, List.of(1, 2, 3), Set.of(1, 2, 3)))
                .isInstanceOf(InvalidUpdateVersionException.class);
        // a deposed leader is fenced
        PartitionState newLeader = new PartitionState(2, 5, List.of(1, 2, 3), List.of(2, 3), 11);
        assertThatThrownBy(() -> Elections.alterIsr(newLeader, expanded, List.of(1, 2), Set.of(1, 2, 3)))
                .isInstanceOf(FencedLeaderEpochException.class);
        // a dead replica cannot join
        assertThatThrownBy(() -> Elections.alterIsr(current, current, List.of(1, 2, 3), Set.of(1, 2)))
                .isInstanceOf(IneligibleReplicaException.class);
    }
}
