package io.runnel.cluster;

import java.util.Collection;
import java.util.List;
import java.util.function.Function;

import org.apache.kafka.common.TopicPartition;

/**
 * A {@link ClusterView} for unit tests that knows only partition leaders: each partition's state is its leader
 * alone (replicas and ISR just the leader, epoch 0), or none where {@code leaderOf} answers null; no broker
 * endpoints, no live brokers.
 */
public final class LeadersOnly implements ClusterView {

    private final int controllerId;
    private final Function<TopicPartition, Integer> leaderOf;

    public LeadersOnly(int controllerId, Function<TopicPartition, Integer> leaderOf) {
        this.controllerId = controllerId;
        this.leaderOf = leaderOf;
    }

    @Override
    public int controllerId() {
        return controllerId;
    }

    @Override
    public PartitionState state(TopicPartition tp) {
        Integer leader = leaderOf.apply(tp);
        return leader == null ? null : new PartitionState(leader, 0, List.of(leader), List.of(leader), 0);
    }

    @Override
    public BrokerEndpoint endpoint(int nodeId) {
        return null;
    }

    @Override
    public Collection<BrokerEndpoint> liveBrokers() {
        return List.of();
    }
}
