package io.runnel.txn;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntSupplier;
import java.util.function.Predicate;

import io.runnel.cluster.ClusterView;
import io.runnel.cluster.PartitionState;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData.WritableTxnMarker;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData.WritableTxnMarkerTopic;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes transaction markers as Kafka's TransactionMarkerChannelManager does: the pending markers of every
 * transaction are grouped by the current leader of their partition and sent as one WriteTxnMarkers request per
 * broker (one request in flight per broker), retried every {@value #RETRY_MS} ms until each partition answers
 * NONE. A partition without a leader waits; one whose topic was deleted needs no marker. Errors per partition as
 * Kafka handles them: NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS(_AFTER_APPEND),
 * REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR and failed requests are retried; INVALID_PRODUCER_EPOCH,
 * PRODUCER_FENCED and TRANSACTION_COORDINATOR_FENCED mean a newer coordinator or epoch has taken over, and the
 * transaction's markers are dropped; UNSUPPORTED_FOR_MESSAGE_FORMAT needs none.
 *
 * <p>Threading: all state on the sender's own event-loop context; {@link #write} and {@link #cancel} from any
 * thread.
 */
public final class TransactionMarkerSender implements MarkerWriter {

    private static final Logger LOG = LoggerFactory.getLogger(TransactionMarkerSender.class);
    static final long RETRY_MS = 100;

    /** Sends a request to a broker (the {@link InterBrokerClient}, or a test's double). */
    public interface Channel {
        Future<ApiMessage> send(int brokerId, ApiKeys key, short version, ApiMessage request);
    }

    private static final class Job {
        final MarkerJob job;
        final Set<TopicPartition> remaining;
        final Set<TopicPartition> inFlight = new HashSet<>();
        final Promise<Void> done = Promise.promise();
        final long startNanos = System.nanoTime();

        Job(MarkerJob job) {
            this.job = job;
            this.remaining = new LinkedHashSet<>(job.partitions());
        }
    }

    private final Vertx vertx;
    private final Context context;
    private final Channel channel;
    private final ClusterView cluster;
    private final Predicate<String> topicExists;
    private final IntSupplier markerVersion;
    private final List<Job> jobs = new ArrayList<>();
    private final Set<Integer> busyBrokers = new HashSet<>();
    private long timer = -1;
    private boolean closed;

    /**
     * @param markerVersion the WriteTxnMarkers version to send (the highest this broker's handler serves: the
     *                      cluster runs one version of Runnel)
     */
    public TransactionMarkerSender(Vertx vertx, Channel channel, ClusterView cluster,
                                   Predicate<String> topicExists, IntSupplier markerVersion) {
        this.vertx = vertx;
        this.context = ((io.vertx.core.internal.VertxInternal) vertx).createEventLoopContext();
        this.channel = channel;
        this.cluster = cluster;
        this.topicExists = topicExists;
        this.markerVersion = markerVersion;
    }

    @Override
    public Future<Void> write(MarkerJob markerJob) {
        Job job = new Job(markerJob);
        context.runOnContext(v -> {
            if (closed) {
                job.done.fail(new IllegalStateException("the marker sender is closed"));
                return;
            }
            jobs.add(job);
            drain();
        });
        return job.done.future();
    }

    @Override
    public void cancel(int txnPartition) {
        context.runOnContext(v -> {
            for (Iterator<Job> it = jobs.iterator(); it.hasNext(); ) {
                Job j = it.next();
                if (j.job.txnPartition() == txnPartition) {
                    it.remove();
                    j.done.tryFail(new IllegalStateException("no longer the coordinator of partition "
                            + txnPartition));
                }
            }
        });
    }

    @Override
    public void close() {
        context.runOnContext(v -> {
            closed = true;
            for (Job j : jobs) {
                j.done.tryFail(new IllegalStateException("the marker sender is closed"));
            }
            jobs.clear();
        });
    }

    /** Jobs waiting, for tests and metrics. Any thread. */
    public Future<Integer> pendingJobs() {
        Promise<Integer> p = Promise.promise();
        context.runOnContext(v -> p.complete(jobs.size()));
        return p.future();
    }

    private void scheduleRetry() {
        if (timer < 0 && !closed) {
            timer = vertx.setTimer(RETRY_MS, id -> context.runOnContext(v -> {
                timer = -1;
                drain();
            }));
        }
    }

    private void drain() {
        if (closed) {
            return;
        }
        boolean waiting = false;
        // broker -> job -> partitions to send it
        Map<Integer, Map<Job, List<TopicPartition>>> byBroker = new LinkedHashMap<>();
        for (Iterator<Job> it = jobs.iterator(); it.hasNext(); ) {
            Job j = it.next();
            for (Iterator<TopicPartition> pi = j.remaining.iterator(); pi.hasNext(); ) {
                TopicPartition tp = pi.next();
                if (j.inFlight.contains(tp)) {
                    continue;
                }
                if (!topicExists.test(tp.topic())) {
                    LOG.info("No marker for {} of {}: the topic no longer exists", tp, j.job.transactionalId());
                    pi.remove();
                    continue;
                }
                PartitionState state = cluster.state(tp);
                if (state == null || state.leader() < 0) {
                    waiting = true;
                    continue;
                }
                if (busyBrokers.contains(state.leader())) {
                    waiting = true;
                    continue;
                }
                byBroker.computeIfAbsent(state.leader(), b -> new LinkedHashMap<>())
                        .computeIfAbsent(j, x -> new ArrayList<>()).add(tp);
            }
            if (j.remaining.isEmpty()) {
                it.remove();
                if (LOG.isDebugEnabled()) {
                    LOG.debug("Markers of {} written in {} ms", j.job.transactionalId(),
                            (System.nanoTime() - j.startNanos) / 1_000_000);
                }
                j.done.tryComplete();
            }
        }
        byBroker.forEach(this::sendTo);
        if (waiting) {
            scheduleRetry();
        }
    }

    private void sendTo(int broker, Map<Job, List<TopicPartition>> batch) {
        WriteTxnMarkersRequestData request = new WriteTxnMarkersRequestData();
        List<Job> order = new ArrayList<>();
        short version = (short) Math.max(1, Math.min(2, markerVersion.getAsInt()));
        batch.forEach((job, tps) -> {
            Map<String, WritableTxnMarkerTopic> topics = new LinkedHashMap<>();
            for (TopicPartition tp : tps) {
                topics.computeIfAbsent(tp.topic(), t -> new WritableTxnMarkerTopic().setName(t))
                        .partitionIndexes().add(tp.partition());
            }
            WritableTxnMarker marker = new WritableTxnMarker().setProducerId(job.job.producerId())
                    .setProducerEpoch(job.job.producerEpoch()).setTransactionResult(job.job.commit())
                    .setCoordinatorEpoch(job.job.coordinatorEpoch()).setTopics(new ArrayList<>(topics.values()));
            if (version >= 2) {
                marker.setTransactionVersion((byte) job.job.transactionVersion());
            }
            request.markers().add(marker);
            job.inFlight.addAll(tps);
            order.add(job);
        });
        busyBrokers.add(broker);
        channel.send(broker, ApiKeys.WRITE_TXN_MARKERS, version, request)
                .onComplete(ar -> context.runOnContext(v -> {
                    busyBrokers.remove(broker);
                    for (Job j : order) {
                        batch.get(j).forEach(j.inFlight::remove);
                    }
                    if (ar.failed()) {
                        LOG.debug("WriteTxnMarkers to broker {} failed: {}", broker, ar.cause().toString());
                        scheduleRetry();
                        return;
                    }
                    if (onResponse(broker, order, (WriteTxnMarkersResponseData) ar.result())) {
                        scheduleRetry(); // a retriable error: not at once, the leader needs a moment
                    } else {
                        drain();
                    }
                }));
    }

    /** Applies an answer; true when some markers must be sent again. */
    private boolean onResponse(int broker, List<Job> order, WriteTxnMarkersResponseData response) {
        Map<Long, WriteTxnMarkersResponseData.WritableTxnMarkerResult> byProducer = new HashMap<>();
        response.markers().forEach(m -> byProducer.put(m.producerId(), m));
        boolean retry = false;
        for (Job j : order) {
            WriteTxnMarkersResponseData.WritableTxnMarkerResult result = byProducer.get(j.job.producerId());
            if (result == null) {
                retry = true;
                continue;
            }
            boolean abandon = false;
            for (WriteTxnMarkersResponseData.WritableTxnMarkerTopicResult t : result.topics()) {
                for (WriteTxnMarkersResponseData.WritableTxnMarkerPartitionResult p : t.partitions()) {
                    TopicPartition tp = new TopicPartition(t.name(), p.partitionIndex());
                    Errors e = Errors.forCode(p.errorCode());
                    switch (e) {
                        case NONE, UNSUPPORTED_FOR_MESSAGE_FORMAT -> j.remaining.remove(tp);
                        case INVALID_PRODUCER_EPOCH, PRODUCER_FENCED, TRANSACTION_COORDINATOR_FENCED -> {
                            LOG.info("Marker of {} for {} refused by broker {} ({}): a newer coordinator or"
                                    + " producer epoch has taken over", j.job.transactionalId(), tp, broker, e);
                            abandon = true;
                        }
                        case NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS,
                             NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR,
                             COORDINATOR_LOAD_IN_PROGRESS -> {
                            LOG.debug("Marker of {} for {} on broker {}: {}; retrying", j.job.transactionalId(), tp,
                                    broker, e);
                            retry = true;
                        }
                        default -> {
                            LOG.warn("Marker of {} for {} failed on broker {}: {}; retrying", j.job.transactionalId(),
                                    tp, broker, e);
                            retry = true;
                        }
                    }
                }
            }
            if (abandon) {
                jobs.remove(j);
                j.done.tryFail(new IllegalStateException("markers of " + j.job.transactionalId() + " refused"));
            }
        }
        return retry;
    }
}
