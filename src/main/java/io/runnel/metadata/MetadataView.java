package io.runnel.metadata;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import io.runnel.cluster.BrokerEndpoint;
import io.runnel.cluster.ClusterView;
import io.runnel.cluster.PartitionState;
import io.runnel.cluster.PartitionStateChanger;
import io.runnel.cluster.TopicInfo;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * What the request path and the partition owners read of the metadata image and ask of the quorum:
 * brokers and their endpoints, the controller, partition states, and ISR changes (AlterPartition).
 *
 * <p>Threading: reads from any thread; {@link #alterPartition} completes on the caller's context.
 */
public final class MetadataView implements ClusterView, PartitionStateChanger {

    private final MetadataQuorum quorum;
    private final MetadataImage image;
    private volatile java.util.function.BooleanSupplier caughtUp = () -> true;

    public MetadataView(MetadataQuorum quorum) {
        this.quorum = quorum;
        this.image = quorum.stateMachine().image();
    }

    /**
     * Until this broker has caught up with the metadata log, what it replayed from its own disk may be stale
     * (it could have been cut off): it then names no leader, coordinator or controller, so clients ask
     * another broker, as they would a Kafka broker whose listener is not open yet.
     */
    public void caughtUp(java.util.function.BooleanSupplier c) {
        this.caughtUp = c;
    }

    public MetadataImage image() {
        return image;
    }

    @Override
    public int controllerId() {
        return caughtUp.getAsBoolean() ? quorum.leaderId() : -1;
    }

    /** The Kafka endpoint of a registered broker, fenced or not (followers still fetch from it); null if unknown. */
    @Override
    public BrokerEndpoint endpoint(int nodeId) {
        BrokerRegistration b = image.broker(nodeId);
        return b == null ? null : new BrokerEndpoint(b.nodeId(), b.host(), b.port(), b.listeners());
    }

    /** Unfenced brokers: those Metadata lists and replicas are placed on. */
    @Override
    public Collection<BrokerEndpoint> liveBrokers() {
        List<BrokerEndpoint> out = new ArrayList<>();
        for (BrokerRegistration b : image.brokers()) {
            if (!b.fenced()) {
                out.add(new BrokerEndpoint(b.nodeId(), b.host(), b.port(), b.listeners()));
            }
        }
        return out;
    }

    @Override
    public PartitionState state(TopicPartition tp) {
        PartitionState s = image.partition(tp);
        if (s == null || caughtUp.getAsBoolean()) {
            return s;
        }
        return new PartitionState(-1, s.leaderEpoch(), s.replicas(), s.isr(), s.partitionEpoch());
    }

    @Override
    public Future<PartitionState> alterPartition(TopicPartition tp, PartitionState expected, PartitionState proposed) {
        MetadataImage.TopicImage t = image.topic(tp.topic());
        if (t == null) {
            return Future.failedFuture(new UnknownTopicOrPartitionException("No topic " + tp.topic()));
        }
        return MetadataFutures.on(Vertx.currentContext(), quorum.propose(MetadataRecords.alterPartition(t.info().id(), tp,
                expected, proposed.isr()))).map(MetadataImage::stateFromJson);
    }

    /** Kafka's leader proposes only followers that are registered and not fenced. */
    @Override
    public boolean eligibleForIsr(int brokerId) {
        BrokerRegistration b = image.broker(brokerId);
        return b != null && !b.fenced();
    }

    @Override
    public boolean replicaOffline(TopicPartition tp, int brokerId) {
        MetadataImage.TopicImage t = image.topic(tp.topic());
        return t != null && image.replicaOffline(brokerId, t.info().id(), tp.partition());
    }

    /** Nor one whose replica of {@code tp} sits in a log directory it reported offline. */
    @Override
    public boolean eligibleForIsr(TopicPartition tp, int brokerId) {
        if (!eligibleForIsr(brokerId)) {
            return false;
        }
        return !replicaOffline(tp, brokerId);
    }

    public TopicInfo topic(String name) {
        MetadataImage.TopicImage t = image.topic(name);
        return t == null ? null : t.info();
    }
}
