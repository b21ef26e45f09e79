package io.runnel.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.junit.jupiter.api.Test;

class ReplicaAssignerTest {

    @Test
    void matchesKafkasRackUnawareAssignment() {
        // the example from Kafka's AdminUtils documentation: 5 brokers, 10 partitions, RF 3, start 0, shift 0
        Map<Integer, List<Integer>> a = ReplicaAssigner.assign(List.of(0, 1, 2, 3, 4), 10, 3, 0, 0, 0);
        assertThat(a.get(0)).containsExactly(0, 1, 2);
        assertThat(a.get(1)).containsExactly(1, 2, 3);
        assertThat(a.get(4)).containsExactly(4, 0, 1);
        assertThat(a.get(5)).containsExactly(0, 2, 3);
        assertThat(a.get(9)).containsExactly(4, 1, 2);
    }

    @Test
    void spreadsLeadersEvenlyAndNeverPutsTwoReplicasOnOneBroker() {
        Map<Integer, List<Integer>> a = ReplicaAssigner.assign(List.of(1, 2, 3), 12, 3, 1, 2, 0);
        Map<Integer, Integer> leaders = new HashMap<>();
        a.values().forEach(r -> {
            assertThat(new HashSet<>(r)).hasSize(3);
            leaders.merge(r.get(0), 1, Integer::sum);
        });
        assertThat(leaders.values()).containsOnly(4);
    }

    @Test
    void refusesMoreReplicasThanBrokers() {
        assertThatThrownBy(() -> ReplicaAssigner.assign(List.of(1, 2), 1, 3, 0, 0, 0))
                .isInstanceOf(InvalidReplicationFactorException.class)
                .hasMessageContaining("only 2 broker(s)");
    }
}
