package io.runnel.api;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.log.AbortedTxn;
import io.runnel.log.LogReadResult;
import io.runnel.log.LogSlice;
import io.runnel.log.SegmentClosedException;
import io.runnel.metrics.BrokerMetrics;
import io.runnel.log.TimestampOffset;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.RequestContext;
import io.runnel.protocol.WireRecords;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.FetchResponseData.FetchableTopicResponse;
import org.apache.kafka.common.message.FetchResponseData.PartitionData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * Fetch v4 and up. Reads go straight to the logs' lock-free read path and return file slices that the
 * connection sends with zero copy. When less than min_bytes is available the fetch is parked as a
 * {@link DelayedFetch}: it listens for appends on its partitions and answers when enough arrives or
 * max_wait_ms passes; no thread waits. Fetch sessions (KIP-227, {@link FetchSessions}) let a client name only
 * what changed and hear only what is new.
 *
 * <p>Reads run on the connection's event loop while every segment file they touch is open; one that
 * {@link io.runnel.log.SegmentChannels} closed to bound the descriptors (an old segment of one of many
 * partitions) would need an {@code open(2)}, so that request is read again on a worker instead
 * ({@link SegmentClosedException}).
 *
 * <p>A fetch with a replica id (v4-v14 {@code replica_id}, v15+ {@code replica_state}) is a follower's:
 * only the leader answers it, it reads up to the log end instead of the high watermark, it gets
 * {@code diverging_epoch} instead of data when its last fetched epoch and offset disagree with the
 * leader's epoch cache (KIP-320), and its fetch offset is reported to the partition owner as the
 * follower's log end (which moves the high watermark and the ISR). So a replica fetch is served only to
 * the broker that owns the id ({@link ReplicaFetchGuard}); a claimed id that is not a replica of the
 * partition gets NOT_LEADER_OR_FOLLOWER there, as Kafka's "fetch request from non-replica".
 */
public final class FetchHandler implements ApiHandler<FetchRequestData> {

    private final Vertx vertx;
    private final TopicManager topics;
    private final PartitionManager partitions;
    private final BrokerMetrics metrics;
    private final ReplicaFetchGuard replicas;
    private final FetchSessions sessions;

    public FetchHandler(Vertx vertx, TopicManager topics, PartitionManager partitions, ReplicaFetchGuard replicas) {
        this(vertx, topics, partitions, replicas, BrokerMetrics.noop(), DEFAULT_SESSION_SLOTS);
    }

    /** @param sessionSlots {@code max.incremental.fetch.session.cache.slots}: fetch sessions held at most */
    public FetchHandler(Vertx vertx, TopicManager topics, PartitionManager partitions, ReplicaFetchGuard replicas,
                        BrokerMetrics metrics, int sessionSlots) {
        this.vertx = vertx;
        this.topics = topics;
        this.partitions = partitions;
        this.replicas = replicas;
        this.metrics = metrics;
        this.sessions = new FetchSessions(sessionSlots, SESSION_EVICTION_MS, System::currentTimeMillis);
        metrics.fetchSessions(sessions::size, sessions::evictions);
    }

    /** Kafka's default of {@code max.incremental.fetch.session.cache.slots}. */
    public static final int DEFAULT_SESSION_SLOTS = 1000;
    /** Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS: a session idle this long may give its slot to a new one. */
    static final long SESSION_EVICTION_MS = 120_000;

    /** The fetch sessions (tests). */
    FetchSessions sessions() {
        return sessions;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.FETCH;
    }

    @Override
    public Future<FetchResponseData> handle(RequestContext ctx, FetchRequestData request) {
        int replicaId = ctx.apiVersion() >= 15 ? request.replicaState().replicaId() : request.replicaId();
        if (replicaId < 0) {
            return inSession(ctx, request, replicaId);
        }
        if (!ctx.clusterAuthorized(AclOperation.CLUSTER_ACTION)) {
            // as Kafka: a follower's fetch needs CLUSTER_ACTION on the cluster, each partition refused otherwise
            return Future.succeededFuture(count(refused(request, Errors.TOPIC_AUTHORIZATION_FAILED)));
        }
        // a follower's fetch moves the high watermark: only the broker that owns the id may send one
        return replicas.admit(replicaId, ctx.clientAddress()).compose(error -> error == Errors.NONE
                ? inSession(ctx, request, replicaId)
                : Future.succeededFuture(count(refused(request, error))));
    }

    /**
     * The fetch as its session metadata says (KIP-227; before v7 every fetch is sessionless, epoch -1): epoch -1
     * closes the session it names and reads the request as it is; epoch 0 replaces the session it names with a new
     * one of the request's partitions; a later epoch reads the whole session, updated with the request, and
     * answers only what changed.
     */
    private Future<FetchResponseData> inSession(RequestContext ctx, FetchRequestData request, int replicaId) {
        int id = request.sessionId();
        int epoch = request.sessionEpoch();
        if (epoch == FetchSessions.FINAL_EPOCH) {
            if (id != FetchSessions.NO_SESSION) {
                sessions.remove(id);
            }
            return fetch(ctx, request, replicaId);
        }
        boolean usesTopicIds = ctx.apiVersion() >= 13;
        if (epoch == FetchSessions.INITIAL_EPOCH) {
            if (id != FetchSessions.NO_SESSION) {
                sessions.remove(id);
            }
            return fetch(ctx, request, replicaId).map(resp -> newSession(request, resp, replicaId >= 0, usesTopicIds));
        }
        FetchSessions.Session session = sessions.get(id);
        if (session == null) {
            return Future.succeededFuture(sessionError(Errors.FETCH_SESSION_ID_NOT_FOUND));
        }
        List<FetchSessions.Cached> order;
        FetchRequestData read;
        synchronized (session) {
            if (session.epoch != epoch) {
                return Future.succeededFuture(sessionError(Errors.INVALID_FETCH_SESSION_EPOCH));
            }
            if (session.usesTopicIds != usesTopicIds) {
                // a session made with topic ids cannot go on by names, nor the other way round (Kafka's check)
                return Future.succeededFuture(sessionError(Errors.FETCH_SESSION_TOPIC_ID_ERROR));
            }
            order = session.update(request);
            read = FetchSessions.Session.toRequest(request, order);
        }
        return fetch(ctx, read, replicaId).map(resp -> {
            synchronized (session) {
                return session.prune(resp, order);
            }
        });
    }

    /** A session of the full fetch's partitions, remembering what its answer told; the answer carries its id. */
    private FetchResponseData newSession(FetchRequestData request, FetchResponseData resp, boolean privileged,
                                         boolean usesTopicIds) {
        if (resp.errorCode() != Errors.NONE.code()) {
            return resp;
        }
        List<FetchSessions.Cached> cached = new ArrayList<>();
        java.util.Iterator<FetchableTopicResponse> topicsAnswered = resp.responses().iterator();
        java.util.Iterator<PartitionData> answered = java.util.Collections.emptyIterator();
        for (FetchRequestData.FetchTopic ft : request.topics()) {
            for (FetchRequestData.FetchPartition fp : ft.partitions()) {
                while (!answered.hasNext() && topicsAnswered.hasNext()) {
                    answered = topicsAnswered.next().partitions().iterator();
                }
                FetchSessions.Cached c = new FetchSessions.Cached(
                        FetchSessions.Key.of(ft, fp.partition(), usesTopicIds), fp);
                if (answered.hasNext()) {
                    c.told(answered.next());
                }
                cached.add(c);
            }
        }
        return resp.setSessionId(sessions.create(privileged, usesTopicIds, cached));
    }

    private static FetchResponseData sessionError(Errors error) {
        return new FetchResponseData().setErrorCode(error.code()).setSessionId(FetchSessions.NO_SESSION);
    }

    private Future<FetchResponseData> fetch(RequestContext ctx, FetchRequestData request, int replicaId) {
        List<Target> targets = resolve(ctx, request, replicaId);
        Result first = readOnLoop(request, targets, replicaId);
        if (first == null) {
            return readBlocking(ctx.context(), request, targets, replicaId)
                    .compose(r -> answerOrPark(ctx, request, targets, replicaId, r));
        }
        return answerOrPark(ctx, request, targets, replicaId, first);
    }

    private Future<FetchResponseData> answerOrPark(RequestContext ctx, FetchRequestData request, List<Target> targets,
                                                   int replicaId, Result first) {
        if (first.bytes >= request.minBytes() || request.maxWaitMs() <= 0 || first.hasError || targets.isEmpty()) {
            recordFollowerFetches(first, replicaId);
            return Future.succeededFuture(count(first.response));
        }
        // a follower's fetch offset acknowledges what it has now, so it counts before the wait
        recordFollowerFetches(first, replicaId);
        // the wait reads again: what this read holds open is not sent
        release(first);
        return new DelayedFetch(ctx.context(), request, targets, replicaId).start();
    }

    /** Every requested partition with {@code error} and no data, as Kafka answers an unauthorized follower. */
    private static FetchResponseData refused(FetchRequestData request, Errors error) {
        FetchResponseData resp = new FetchResponseData().setSessionId(0).setErrorCode(Errors.NONE.code());
        for (FetchRequestData.FetchTopic ft : request.topics()) {
            FetchableTopicResponse tr = new FetchableTopicResponse().setTopic(ft.topic()).setTopicId(ft.topicId());
            for (FetchRequestData.FetchPartition fp : ft.partitions()) {
                tr.partitions().add(new PartitionData().setPartitionIndex(fp.partition()).setErrorCode(error.code())
                        .setRecords(WireRecords.EMPTY).setHighWatermark(-1).setLastStableOffset(-1)
                        .setLogStartOffset(-1).setPreferredReadReplica(-1));
            }
            resp.responses().add(tr);
        }
        return resp;
    }

    private static void recordFollowerFetches(Result r, int replicaId) {
        for (FollowerRead f : r.followerReads) {
            f.owner().recordFollowerFetch(replicaId, f.fetchOffset(), f.leaderLogEnd(), f.timeMs());
        }
    }

    /** A requested partition, resolved once. */
    private record Target(FetchRequestData.FetchTopic topic, String topicName, Uuid topicId,
                          FetchRequestData.FetchPartition partition, PartitionOwner owner, Errors error) {
    }

    private record Result(FetchResponseData response, long bytes, boolean hasError, List<FollowerRead> followerReads) {
    }

    /** Lets go of the segment files a read that is not answered holds open (its zero-copy slices). */
    private static void release(Result r) {
        release(r.response());
    }

    private static void release(FetchResponseData response) {
        for (FetchResponseData.FetchableTopicResponse t : response.responses()) {
            for (FetchResponseData.PartitionData pd : t.partitions()) {
                WireRecords.release(pd.records());
            }
        }
    }

    /** A follower's read of one partition: its fetch offset and the leader's log end at that moment. */
    private record FollowerRead(PartitionOwner owner, long fetchOffset, long leaderLogEnd, long timeMs) {
    }

    private List<Target> resolve(RequestContext ctx, FetchRequestData request, int replicaId) {
        List<Target> targets = new ArrayList<>();
        for (FetchRequestData.FetchTopic ft : request.topics()) {
            TopicInfo t = ft.topic() != null && !ft.topic().isEmpty() ? topics.topic(ft.topic())
                    : topics.topic(ft.topicId());
            // a consumer needs READ on the topic (a follower was checked for CLUSTER_ACTION already)
            String named = t != null ? t.name() : ft.topic();
            boolean allowed = replicaId >= 0 || named == null || named.isEmpty()
                    || ctx.authorized(AclOperation.READ, ResourceType.TOPIC, named);
            for (FetchRequestData.FetchPartition fp : ft.partitions()) {
                if (!allowed) {
                    targets.add(new Target(ft, ft.topic(), ft.topicId(), fp, null, Errors.TOPIC_AUTHORIZATION_FAILED));
                    continue;
                }
                if (t == null) {
                    boolean byId = ft.topic() == null || ft.topic().isEmpty();
                    targets.add(new Target(ft, ft.topic(), ft.topicId(), fp, null,
                            byId ? Errors.UNKNOWN_TOPIC_ID : Errors.UNKNOWN_TOPIC_OR_PARTITION));
                    continue;
                }
                PartitionOwner owner = partitions.get(new TopicPartition(t.name(), fp.partition()));
                Errors error = Errors.NONE;
                if (owner == null) {
                    error = fp.partition() >= 0 && fp.partition() < t.partitions()
                            ? partitions.notHostedError(new TopicPartition(t.name(), fp.partition()))
                            : Errors.UNKNOWN_TOPIC_OR_PARTITION;
                } else {
                    error = roleError(owner, fp, replicaId);
                }
                targets.add(new Target(ft, t.name(), t.id(), fp, owner, error));
            }
        }
        return targets;
    }

    /** Checked again at every read: a parked fetch must not outlive the leadership it was made to. */
    private static Errors roleError(PartitionOwner owner, FetchRequestData.FetchPartition fp, int replicaId) {
        if (fp.currentLeaderEpoch() >= 0 && fp.currentLeaderEpoch() < owner.leaderEpoch()) {
            return Errors.FENCED_LEADER_EPOCH;
        }
        if (fp.currentLeaderEpoch() > owner.leaderEpoch()) {
            return Errors.UNKNOWN_LEADER_EPOCH;
        }
        // Kafka's "fetch request from non-replica": an id outside the replica set, or the leader's own
        if (!owner.isLeader() || replicaId >= 0 && (!owner.state().replicas().contains(replicaId)
                || replicaId == owner.state().leader())) {
            return Errors.NOT_LEADER_OR_FOLLOWER;
        }
        return Errors.NONE;
    }

    /** Reads on the event loop; null when a segment file is closed, and the read must go to a worker instead. */
    private Result readOnLoop(FetchRequestData request, List<Target> targets, int replicaId) {
        try {
            return readAll(request, targets, replicaId, false);
        } catch (SegmentClosedException e) {
            return null;
        }
    }

    /** The read again on a worker, which may reopen closed segment files; completes on {@code context}. */
    private Future<Result> readBlocking(Context context, FetchRequestData request, List<Target> targets, int replicaId) {
        return context.executeBlocking(() -> readAll(request, targets, replicaId, true), false);
    }

    /**
     * Reads every target. Without {@code mayOpen} (on the event loop) a segment file that is closed throws
     * {@link SegmentClosedException}, after letting go of what was read before it.
     */
    private Result readAll(FetchRequestData request, List<Target> targets, int replicaId, boolean mayOpen) {
        List<FollowerRead> followerReads = new ArrayList<>();
        long now = System.currentTimeMillis();
        FetchResponseData resp = new FetchResponseData().setSessionId(0).setErrorCode(Errors.NONE.code());
        long remaining = request.maxBytes() <= 0 ? Integer.MAX_VALUE : request.maxBytes();
        long bytes = 0;
        boolean hasError = false;
        boolean readCommitted = request.isolationLevel() == 1;
        FetchableTopicResponse current = null;
        FetchRequestData.FetchTopic currentTopic = null;
        for (Target target : targets) {
            if (target.topic() != currentTopic) {
                currentTopic = target.topic();
                current = new FetchableTopicResponse().setTopic(target.topicName()).setTopicId(target.topicId());
                resp.responses().add(current);
            }
            FetchRequestData.FetchPartition fp = target.partition();
            PartitionData pd = new PartitionData().setPartitionIndex(fp.partition()).setRecords(WireRecords.EMPTY)
                    .setHighWatermark(-1).setLastStableOffset(-1).setLogStartOffset(-1)
                    .setPreferredReadReplica(-1)
                    .setAbortedTransactions(readCommitted ? new ArrayList<>() : null);
            current.partitions().add(pd);
            Errors error = target.error() != Errors.NONE ? target.error()
                    : roleError(target.owner(), target.partition(), replicaId);
            if (error != Errors.NONE) {
                pd.setErrorCode(error.code());
                hasError = true;
                continue;
            }
            PartitionOwner owner = target.owner();
            long hw = owner.highWatermark();
            pd.setHighWatermark(hw).setLastStableOffset(owner.lastStableOffset());
            int limit = (int) Math.min(Math.min(fp.partitionMaxBytes(), remaining), Integer.MAX_VALUE);
            try {
                if (replicaId >= 0 && divergence(owner, fp, pd)) {
                    hasError = true;
                    continue;
                }
                LogReadResult read;
                if (limit <= 0 && bytes > 0) {
                    read = null;
                } else if (replicaId >= 0) {
                    read = owner.readForReplica(fp.fetchOffset(), Math.max(limit, 0), bytes == 0, mayOpen);
                    followerReads.add(new FollowerRead(owner, fp.fetchOffset(), read.logEndOffset(), now));
                } else if (readCommitted) {
                    read = owner.readCommitted(fp.fetchOffset(), Math.max(limit, 0), bytes == 0, mayOpen);
                } else {
                    read = owner.read(fp.fetchOffset(), Math.max(limit, 0), bytes == 0, mayOpen);
                }
                if (read == null) {
                    pd.setLogStartOffset(owner.log().logStartOffset());
                    continue;
                }
                LogSlice slice = read.records();
                pd.setLogStartOffset(read.logStartOffset()).setRecords(WireRecords.of(slice));
                if (readCommitted && read.abortedTransactions() != null) {
                    for (AbortedTxn t : read.abortedTransactions()) {
                        pd.abortedTransactions().add(new FetchResponseData.AbortedTransaction()
                                .setProducerId(t.producerId()).setFirstOffset(t.firstOffset()));
                    }
                }
                bytes += slice.size();
                remaining -= slice.size();
            } catch (OffsetOutOfRangeException e) {
                pd.setErrorCode(Errors.OFFSET_OUT_OF_RANGE.code()).setLogStartOffset(owner.log().logStartOffset());
                hasError = true;
            } catch (SegmentClosedException e) {
                // the slices read so far hold their files: the read on a worker reads them again
                release(resp);
                throw e;
            } catch (RuntimeException e) {
                pd.setErrorCode(Errors.forException(e).code());
                hasError = true;
            }
        }
        return new Result(resp, bytes, hasError, followerReads);
    }

    /**
     * Kafka's check of a follower's last fetched epoch against the leader's epoch cache: if the leader's
     * end of that epoch is before the fetch offset, or the leader only knows an older epoch, the follower
     * diverged and gets (epoch, end offset) to truncate to instead of data. True when the answer is set.
     */
    private static boolean divergence(PartitionOwner owner, FetchRequestData.FetchPartition fp, PartitionData pd) {
        int lastFetchedEpoch = fp.lastFetchedEpoch();
        if (lastFetchedEpoch < 0) {
            return false;
        }
        TimestampOffset end = owner.log().endOffsetForEpoch(lastFetchedEpoch);
        long logStart = owner.log().logStartOffset();
        if (end.offset() < 0 || end.leaderEpoch() < 0 || fp.fetchOffset() < logStart) {
            pd.setErrorCode(Errors.OFFSET_OUT_OF_RANGE.code()).setLogStartOffset(logStart);
            return true;
        }
        if (end.leaderEpoch() < lastFetchedEpoch || end.offset() < fp.fetchOffset()) {
            pd.setLogStartOffset(logStart).setDivergingEpoch(new FetchResponseData.EpochEndOffset()
                    .setEpoch(end.leaderEpoch()).setEndOffset(end.offset()));
            // an answer that needs no waiting, like an error
            return true;
        }
        return false;
    }

    /** Counts what a fetch answer sends: bytes per topic and errors per code (delayed re-reads are not sent). */
    private FetchResponseData count(FetchResponseData response) {
        for (FetchableTopicResponse tr : response.responses()) {
            BrokerMetrics.TopicMeters meters = null;
            for (PartitionData pd : tr.partitions()) {
                if (pd.errorCode() != Errors.NONE.code()) {
                    metrics.fetchError(pd.errorCode());
                } else if (pd.records() != null && pd.records().sizeInBytes() > 0) {
                    if (meters == null) {
                        meters = metrics.topic(tr.topic());
                    }
                    meters.bytesOut().increment(pd.records().sizeInBytes());
                }
            }
        }
        return response;
    }

    /**
     * A fetch waiting for min_bytes. Lives on the connection's context: appends (on owner threads) only
     * schedule a re-read there; the timer and the answer also run there.
     */
    private final class DelayedFetch {
        private final Context context;
        private final FetchRequestData request;
        private final List<Target> targets;
        private final int replicaId;
        private final Promise<FetchResponseData> promise = Promise.promise();
        private final AtomicBoolean recheckScheduled = new AtomicBoolean();
        private final Runnable onAppend = this::scheduleRecheck;
        private long timer = -1;
        private boolean done;

        DelayedFetch(Context context, FetchRequestData request, List<Target> targets, int replicaId) {
            this.context = context;
            this.request = request;
            this.targets = targets;
            this.replicaId = replicaId;
        }

        Future<FetchResponseData> start() {
            for (Target t : targets) {
                if (t.owner() != null && replicaId >= 0) {
                    t.owner().addLogEndListener(onAppend);
                } else if (t.owner() != null) {
                    t.owner().addAppendListener(onAppend);
                }
            }
            timer = vertx.setTimer(request.maxWaitMs(), id -> {
                timer = -1;
                finish();
            });
            // data may have arrived between the first read and registering the listeners
            scheduleRecheck();
            return promise.future();
        }

        private void scheduleRecheck() {
            if (recheckScheduled.compareAndSet(false, true)) {
                context.runOnContext(v -> {
                    recheckScheduled.set(false);
                    if (done) {
                        return;
                    }
                    for (Target t : targets) {
                        if (t.owner() != null && t.owner().isClosed()) {
                            finish();
                            return;
                        }
                    }
                    Result r = readOnLoop(request, targets, replicaId);
                    if (r == null) {
                        // whatever a worker's read finds, it is the answer
                        finishOnWorker();
                    } else if (r.bytes >= request.minBytes() || r.hasError) {
                        complete(r);
                    } else {
                        release(r);
                    }
                });
            }
        }

        private void finish() {
            if (!done) {
                Result r = readOnLoop(request, targets, replicaId);
                if (r == null) {
                    finishOnWorker();
                } else {
                    complete(r);
                }
            }
        }

        private void finishOnWorker() {
            // done now, so that neither the timer nor an append answers meanwhile
            stop();
            readBlocking(context, request, targets, replicaId).onComplete(ar -> {
                if (ar.succeeded()) {
                    complete(ar.result());
                } else {
                    promise.fail(ar.cause());
                }
            });
        }

        private void complete(Result r) {
            stop();
            // the follower's fetch offset was recorded when the fetch came in, as Kafka records it once per fetch
            // (updateFetchState only on the first read, not when the delayed fetch completes): a second record
            // re-stamped the same offset and cost a hop to the partition's owner for every parked fetch
            promise.complete(count(r.response));
        }

        // no more re-reads: the timer cancelled, the listeners removed
        private void stop() {
            done = true;
            if (timer >= 0) {
                vertx.cancelTimer(timer);
                timer = -1;
            }
            for (Target t : targets) {
                if (t.owner() != null) {
                    t.owner().removeAppendListener(onAppend);
                }
            }
        }
    }
}
