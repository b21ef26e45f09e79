package io.runnel.partition;

import java.util.function.BooleanSupplier;

import io.runnel.cluster.PartitionStateChanger;
import io.vertx.core.Vertx;
import org.apache.kafka.common.utils.Time;

/**
 * What a partition owner needs to take part in replication: who this node is, how to ask the
 * controller for ISR changes, where follower fetching is registered, and Kafka's lag limit. A node
 * without it (standalone) hosts every partition as its only replica.
 *
 * @param localNode            this broker's node id
 * @param changer              the controller's compare-and-set for ISR changes (AlterPartition)
 * @param followers            starts and stops fetching for partitions this node follows
 * @param replicaLagTimeMaxMs  replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR
 * @param vertx                for the ISR-shrink and acks=all timers
 * @param time                 clock for caught-up times
 * @param quorumContactLost    whether this node has been out of touch with the metadata quorum for longer than
 *                             broker.session.timeout.ms (so its leaderships have probably moved); any thread
 */
public record Replication(int localNode, PartitionStateChanger changer, FollowerRegistry followers,
                          long replicaLagTimeMaxMs, Vertx vertx, Time time, BooleanSupplier quorumContactLost) {

    public Replication(int localNode, PartitionStateChanger changer, FollowerRegistry followers,
                       long replicaLagTimeMaxMs, Vertx vertx, Time time) {
        this(localNode, changer, followers, replicaLagTimeMaxMs, vertx, time, () -> false);
    }

    /** Where follower partitions are handed to the fetchers (the replication package implements it). */
    public interface FollowerRegistry {

        /** Fetch {@code owner}'s partition from {@code leader}; replaces any earlier registration. Any thread. */
        void follow(PartitionOwner owner, int leader);

        /** Stop fetching {@code owner}'s partition. Any thread. */
        void unfollow(PartitionOwner owner);
    }
}
