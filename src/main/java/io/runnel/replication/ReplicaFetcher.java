package io.runnel.replication;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import io.runnel.cluster.BrokerDirectory;
import io.runnel.cluster.BrokerEndpoint;
import io.runnel.log.RecordSet;
import io.runnel.log.TimestampOffset;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.WireRecords;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.NetSocket;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches, for every partition this node follows from one leader broker, over one Kafka-protocol
 * connection to that broker's inter-broker listener, over its TLS and SASL login if it has them
 * (ReplicaFetcherManager opens it), as Kafka's ReplicaFetcherThread does, without a thread: one Fetch with
 * this node's replica id in flight at a time, each partition at its log end with its last fetched
 * epoch, so that the leader answers data, a diverging epoch to truncate to, or an error.
 *
 * <p>Data is appended on the partition owner's context ({@code appendAsFollower}, follower high
 * watermark = min(leader's, own log end)); a diverging epoch truncates the log by leader epoch (never to
 * the high watermark); NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH and other
 * partition errors pause that partition for replica.fetch.backoff.ms or until a new state re-adds it;
 * a broken or silent connection is closed and opened again after the backoff.
 *
 * <p>As Kafka's followers, it fetches in an incremental fetch session (KIP-227): the first fetch names every
 * partition (epoch 0) and the leader answers with a session id; later ones name only the partitions whose fetch
 * position, epochs or log start changed, forget the ones no longer fetched (paused, moved, removed), and hear
 * only of partitions with something new. A session error, any other error or a new connection starts again
 * with a full fetch.
 *
 * <p>Threading: everything here runs on the fetcher manager's event-loop context.
 */
final class ReplicaFetcher {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicaFetcher.class);
    /** Fetch v17: replica state and topic ids, without v18's follower-sent high watermark. */
    static final short FETCH_VERSION = 17;
    /** The largest answer taken from a leader: replica.fetch.response.max.bytes may be up to 2 GiB. */
    static final int MAX_FRAME_BYTES = Integer.MAX_VALUE - 8;

    private final Vertx vertx;
    private final Context context;
    private final Function<BrokerEndpoint, Future<NetSocket>> connector;
    private final BrokerDirectory directory;
    private final FetcherSettings settings;
    private final int localNode;
    private final int leaderId;
    private final Map<TopicPartition, FetchState> partitions = new LinkedHashMap<>();
    private NetSocket socket;
    private boolean connecting;
    private boolean inFlight;
    private long timer = -1;
    private long requestTimer = -1;
    private int correlationId;
    private Sent sent;
    private boolean stopped;
    // whether a refusal of this node's identity by the leader has been logged; event loop only
    private boolean warnedRefused;
    // whether a failed TLS handshake or SASL login with the leader has been logged since the last success
    private boolean warnedLogin;
    // the fetch session with the leader: 0 until it gives one; the epoch the next fetch carries (0: a full fetch
    // that asks for a new session); the partitions the leader holds in it, as last sent
    private int sessionId;
    private int sessionEpoch;
    private Map<TopicPartition, Fetched> session = Map.of();

    /** One followed partition. */
    private static final class FetchState {
        final PartitionOwner owner;
        long delayedUntil;

        FetchState(PartitionOwner owner) {
            this.owner = owner;
        }
    }

    /**
     * What the request in flight asked, to match the answer: every partition fetched (those the request names
     * and those its session holds unchanged), and the session as it is once the leader applied the request.
     */
    private record Sent(int correlationId, Map<TopicPartition, Asked> partitions, Map<Uuid, String> topicNames,
                        int sessionId, Map<TopicPartition, Fetched> session) {
    }

    /** One partition's fetch as sent to the leader, with its topic id. */
    private record Fetched(Uuid topicId, FetchRequestData.FetchPartition partition) {
    }

    private record Asked(PartitionOwner owner, long fetchOffset, int leaderEpoch) {
    }

    ReplicaFetcher(Vertx vertx, Context context, Function<BrokerEndpoint, Future<NetSocket>> connector,
                   BrokerDirectory directory, FetcherSettings settings,
                   int localNode, int leaderId) {
        this.vertx = vertx;
        this.context = context;
        this.connector = connector;
        this.directory = directory;
        this.settings = settings;
        this.localNode = localNode;
        this.leaderId = leaderId;
    }

    int leaderId() {
        return leaderId;
    }

    boolean isEmpty() {
        return partitions.isEmpty();
    }

    void add(PartitionOwner owner) {
        partitions.put(owner.topicPartition(), new FetchState(owner));
        // a new state may be what a paused partition was waiting for
        if (timer >= 0 && !inFlight) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
        kick();
    }

    /** Stops fetching {@code owner}'s partition; false if it was registered by another owner. */
    boolean remove(PartitionOwner owner) {
        FetchState st = partitions.get(owner.topicPartition());
        if (st != null && st.owner == owner) {
            partitions.remove(owner.topicPartition());
            return true;
        }
        return false;
    }

    void stop() {
        stopped = true;
        partitions.clear();
        cancelTimers();
        if (socket != null) {
            socket.close();
            socket = null;
        }
    }

    private void cancelTimers() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
        if (requestTimer >= 0) {
            vertx.cancelTimer(requestTimer);
            requestTimer = -1;
        }
    }

    /** Starts the next step unless one is under way. */
    private void kick() {
        if (stopped || inFlight || connecting || timer >= 0 || partitions.isEmpty()) {
            return;
        }
        if (socket == null) {
            connect();
        } else {
            sendFetch();
        }
    }

    private void backoff(long ms) {
        if (timer >= 0 || stopped) {
            return;
        }
        timer = vertx.setTimer(Math.max(1, ms), id -> {
            timer = -1;
            kick();
        });
    }

    private void connect() {
        BrokerEndpoint endpoint = directory.endpoint(leaderId);
        if (endpoint == null) {
            backoff(settings.backoffMs());
            return;
        }
        connecting = true;
        connector.apply(endpoint).onComplete(ar -> {
            connecting = false;
            if (ar.failed()) {
                if (isSecurityFailure(ar.cause()) && !warnedLogin) {
                    // a refused certificate or login does not heal by retrying: say so once, loudly
                    warnedLogin = true;
                    LOG.warn("Replica fetcher of node {} cannot log in to leader {} at {}:{} over the inter-broker"
                            + " listener (check its ssl.* stores and the JAAS login of"
                            + " sasl.mechanism.inter.broker.protocol): {}", localNode, leaderId, endpoint.host(),
                            endpoint.port(), ar.cause().toString());
                } else {
                    LOG.info("Replica fetcher of node {} cannot reach leader {} at {}:{}: {}", localNode, leaderId,
                            endpoint.host(), endpoint.port(), ar.cause().toString());
                }
                backoff(settings.backoffMs());
                return;
            }
            warnedLogin = false;
            NetSocket s = ar.result();
            if (stopped) {
                s.close();
                return;
            }
            socket = s;
            s.handler(new Frames(frame -> onResponse(s, frame), why -> onBroken(s, why)));
            s.closeHandler(v -> onBroken(s, "connection closed"));
            s.exceptionHandler(t -> onBroken(s, t.toString()));
            kick();
        });
    }

    /**
     * Cuts the leader's answers (a 4-byte size, then the frame) out of what the socket delivers, copying each
     * byte once, into an array of exactly the frame's size. Vert.x's RecordParser, used before, appended every
     * chunk to a growing buffer, handed the frame over as another copy and copied the rest of the chunk again:
     * two to three copies of every replicated byte on a follower. Event loop only.
     */
    static final class Frames implements io.vertx.core.Handler<Buffer> {
        private final java.util.function.Consumer<byte[]> onFrame;
        private final java.util.function.Consumer<String> onError;
        private boolean failed;
        private int sizeBytes;
        private int size;
        private byte[] frame;
        private int filled;

        Frames(java.util.function.Consumer<byte[]> onFrame, java.util.function.Consumer<String> onError) {
            this.onFrame = onFrame;
            this.onError = onError;
        }

        @Override
        public void handle(Buffer chunk) {
            io.netty.buffer.ByteBuf in = ((BufferInternal) chunk).getByteBuf();
            while (!failed && in.isReadable()) {
                if (frame == null) {
                    while (sizeBytes < 4 && in.isReadable()) {
                        size = size << 8 | in.readUnsignedByte();
                        sizeBytes++;
                    }
                    if (sizeBytes < 4) {
                        return;
                    }
                    if (size < 0 || size > MAX_FRAME_BYTES) {
                        failed = true;
                        onError.accept("bad fetch response: frame of " + size + " bytes (at most " + MAX_FRAME_BYTES
                                + ")");
                        return;
                    }
                    frame = new byte[size];
                    filled = 0;
                }
                int n = Math.min(size - filled, in.readableBytes());
                in.readBytes(frame, filled, n);
                filled += n;
                if (filled == size) {
                    byte[] complete = frame;
                    frame = null;
                    sizeBytes = 0;
                    size = 0;
                    onFrame.accept(complete);
                }
            }
        }
    }

    private static boolean isSecurityFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException || c instanceof javax.security.sasl.SaslException
                    || c instanceof org.apache.kafka.common.errors.AuthenticationException) {
                return true;
            }
        }
        return false;
    }

    private void onBroken(NetSocket s, String why) {
        if (socket != s) {
            return;
        }
        LOG.info("Replica fetcher of node {} lost leader {}: {}", localNode, leaderId, why);
        socket = null;
        inFlight = false;
        sent = null;
        resetSession();
        if (requestTimer >= 0) {
            vertx.cancelTimer(requestTimer);
            requestTimer = -1;
        }
        s.close();
        backoff(settings.backoffMs());
    }

    /** The next fetch is a full one, asking for a new session. */
    private void resetSession() {
        sessionId = 0;
        sessionEpoch = 0;
        session = Map.of();
    }

    private void sendFetch() {
        long now = System.currentTimeMillis();
        // v15+ names the replica only in replica_state; the old field must keep its default there
        FetchRequestData req = new FetchRequestData()
                .setReplicaState(new FetchRequestData.ReplicaState().setReplicaId(localNode).setReplicaEpoch(-1))
                .setMaxWaitMs(settings.maxWaitMs()).setMinBytes(settings.minBytes()).setMaxBytes(settings.maxBytes())
                .setIsolationLevel((byte) 0).setSessionId(sessionId).setSessionEpoch(sessionEpoch);
        Map<TopicPartition, Asked> asked = new HashMap<>();
        Map<Uuid, String> names = new HashMap<>();
        Map<Uuid, FetchRequestData.FetchTopic> topics = new LinkedHashMap<>();
        Map<TopicPartition, Fetched> next = new LinkedHashMap<>();
        long nextReady = Long.MAX_VALUE;
        for (FetchState st : partitions.values()) {
            if (st.delayedUntil > now) {
                nextReady = Math.min(nextReady, st.delayedUntil);
                continue;
            }
            PartitionOwner o = st.owner;
            if (o.isClosed() || o.isLeader()) {
                continue;
            }
            TopicPartition tp = o.topicPartition();
            long fetchOffset = o.log().logEndOffset();
            int epoch = o.leaderEpoch();
            names.put(o.topicId(), tp.topic());
            FetchRequestData.FetchPartition fp = new FetchRequestData.FetchPartition().setPartition(tp.partition())
                    .setCurrentLeaderEpoch(epoch).setFetchOffset(fetchOffset)
                    .setLastFetchedEpoch(o.log().latestEpoch()).setLogStartOffset(o.log().logStartOffset())
                    .setPartitionMaxBytes(settings.partitionMaxBytes());
            Fetched f = new Fetched(o.topicId(), fp);
            next.put(tp, f);
            // in a session, only what the leader does not hold already
            if (sessionId == 0 || !f.equals(session.get(tp))) {
                topics.computeIfAbsent(o.topicId(), id -> new FetchRequestData.FetchTopic().setTopic(tp.topic())
                        .setTopicId(id)).partitions().add(fp);
            }
            asked.put(tp, new Asked(o, fetchOffset, epoch));
        }
        if (asked.isEmpty()) {
            if (nextReady != Long.MAX_VALUE) {
                backoff(nextReady - now);
            }
            return;
        }
        req.topics().addAll(topics.values());
        if (sessionId != 0) {
            Map<Uuid, FetchRequestData.ForgottenTopic> forgotten = new LinkedHashMap<>();
            for (Map.Entry<TopicPartition, Fetched> e : session.entrySet()) {
                if (!next.containsKey(e.getKey())) {
                    forgotten.computeIfAbsent(e.getValue().topicId(), tid -> new FetchRequestData.ForgottenTopic()
                            .setTopicId(tid)).partitions().add(e.getKey().partition());
                }
            }
            req.forgottenTopicsData().addAll(forgotten.values());
        }
        int id = ++correlationId;
        RequestHeaderData header = new RequestHeaderData().setRequestApiKey(ApiKeys.FETCH.id)
                .setRequestApiVersion(FETCH_VERSION).setCorrelationId(id).setClientId("runnel-replica-" + localNode);
        short headerVersion = ApiKeys.FETCH.requestHeaderVersion(FETCH_VERSION);
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = header.size(cache, headerVersion) + req.size(cache, FETCH_VERSION);
        ByteBuffer buf = ByteBuffer.allocate(4 + size);
        buf.putInt(size);
        ByteBufferAccessor acc = new ByteBufferAccessor(buf);
        header.write(acc, cache, headerVersion);
        req.write(acc, cache, FETCH_VERSION);
        sent = new Sent(id, asked, names, sessionId, next);
        inFlight = true;
        NetSocket s = socket;
        // a leader that stops answering (paused, partitioned) must not hold this fetcher forever
        requestTimer = vertx.setTimer(settings.maxWaitMs() + settings.requestTimeoutMs(), t -> {
            requestTimer = -1;
            onBroken(s, "no answer within " + settings.requestTimeoutMs() + " ms");
        });
        s.write(Buffer.buffer(buf.array()));
    }

    private void onResponse(NetSocket s, byte[] frame) {
        if (s != socket || sent == null) {
            return;
        }
        if (requestTimer >= 0) {
            vertx.cancelTimer(requestTimer);
            requestTimer = -1;
        }
        Sent request = sent;
        FetchResponseData resp;
        try {
            // the frame is this fetcher's own array (Frames): read in place, records included
            ByteBuffer buf = ByteBuffer.wrap(frame);
            ResponseHeaderData header = new ResponseHeaderData(new ByteBufferAccessor(buf),
                    ApiKeys.FETCH.responseHeaderVersion(FETCH_VERSION));
            if (header.correlationId() != request.correlationId()) {
                throw new IllegalStateException("correlation id " + header.correlationId() + ", expected "
                        + request.correlationId());
            }
            resp = new FetchResponseData(new ByteBufferAccessor(buf), FETCH_VERSION);
        } catch (RuntimeException e) {
            onBroken(s, "bad fetch response: " + e);
            return;
        }
        sent = null;
        Errors failed = Errors.forCode(resp.errorCode());
        if (failed != Errors.NONE) {
            inFlight = false;
            // whatever the error, the next fetch is a full one that opens a new session
            resetSession();
            if (failed == Errors.FETCH_SESSION_ID_NOT_FOUND || failed == Errors.INVALID_FETCH_SESSION_EPOCH
                    || failed == Errors.FETCH_SESSION_TOPIC_ID_ERROR) {
                // the leader evicted or lost the session (a restart, a full cache): no reason to wait
                LOG.debug("Fetch session of node {} with leader {} ended: {}", localNode, leaderId, failed);
                kick();
                return;
            }
            LOG.info("Fetch of node {} from leader {} failed: {}", localNode, leaderId, failed);
            backoff(settings.backoffMs());
            return;
        }
        if (request.sessionId() == 0) {
            sessionId = resp.sessionId();
            sessionEpoch = sessionId == 0 ? 0 : 1;
        } else {
            sessionEpoch = sessionEpoch == Integer.MAX_VALUE ? 1 : sessionEpoch + 1;
        }
        session = sessionId == 0 ? Map.of() : request.session();
        List<Future<?>> work = new ArrayList<>();
        for (FetchResponseData.FetchableTopicResponse tr : resp.responses()) {
            String topic = tr.topic() != null && !tr.topic().isEmpty() ? tr.topic() : request.topicNames().get(tr.topicId());
            for (FetchResponseData.PartitionData pd : tr.partitions()) {
                TopicPartition tp = new TopicPartition(topic, pd.partitionIndex());
                Asked a = request.partitions().get(tp);
                FetchState st = partitions.get(tp);
                if (a == null || st == null || st.owner != a.owner()) {
                    continue;
                }
                work.add(process(st, a, pd).otherwise(t -> {
                    LOG.warn("Replication of {} from leader {} failed", tp, leaderId, t);
                    delay(tp, a.owner());
                    return null;
                }));
            }
        }
        Future.join(work).onComplete(ar -> context.runOnContext(v -> {
            inFlight = false;
            kick();
        }));
    }

    private Future<?> process(FetchState st, Asked a, FetchResponseData.PartitionData pd) {
        PartitionOwner owner = a.owner();
        Errors error = Errors.forCode(pd.errorCode());
        if (error == Errors.NONE) {
            FetchResponseData.EpochEndOffset diverging = pd.divergingEpoch();
            if (diverging != null && diverging.epoch() >= 0) {
                return owner.submit(() -> {
                    truncateOnDivergence(owner, a, diverging.epoch(), diverging.endOffset());
                    return null;
                });
            }
            RecordSet wire = WireRecords.toRecordSet(pd.records());
            RecordSet records = wire == null ? RecordSet.EMPTY : wire;
            return owner.submit(() -> owner.appendAsFollower(a.leaderEpoch(), a.fetchOffset(), records,
                    pd.highWatermark(), pd.logStartOffset()));
        }
        if (error == Errors.OFFSET_OUT_OF_RANGE && pd.logStartOffset() > a.fetchOffset()) {
            // this replica's log ends before the leader's starts: begin again at the leader's start
            long leaderStart = pd.logStartOffset();
            return owner.submit(() -> {
                if (!owner.isLeader() && owner.leaderEpoch() == a.leaderEpoch()
                        && owner.log().logEndOffset() == a.fetchOffset()) {
                    LOG.info("{}: log end {} is below the leader's log start {}; restarting there",
                            owner.topicPartition(), a.fetchOffset(), leaderStart);
                    owner.restartAsFollowerAt(leaderStart);
                }
                return null;
            });
        }
        if (error == Errors.TOPIC_AUTHORIZATION_FAILED && !warnedRefused) {
            // the leader's ReplicaFetchGuard: replication stays stuck until this is fixed, so say so once
            warnedRefused = true;
            LOG.warn("{}: leader {} refuses the replica fetches of node {}: they must come from an address of the"
                    + " host this broker registered (its advertised listener), and with an authorizer from a principal"
                    + " that is a super user or may CLUSTER_ACTION the cluster (the inter-broker listener's login)",
                    owner.topicPartition(), leaderId, localNode);
        }
        LOG.debug("{}: fetch from leader {} answered {}; pausing", owner.topicPartition(), leaderId, error);
        st.delayedUntil = System.currentTimeMillis() + settings.backoffMs();
        return Future.succeededFuture();
    }

    /**
     * Kafka's truncation on a diverging epoch (KIP-320, with KIP-279's rule): find where this log's copy
     * of the leader's epoch ends; if this log has that epoch, cut at the smaller of both ends; if it only
     * has an older one, cut at that epoch's end and let the next fetch compare again. Owner context.
     */
    private static void truncateOnDivergence(PartitionOwner owner, Asked a, int leaderEpoch, long leaderEndOffset) {
        if (owner.isLeader() || owner.isClosed() || owner.leaderEpoch() != a.leaderEpoch()
                || owner.log().logEndOffset() != a.fetchOffset()) {
            return;
        }
        long leo = owner.log().logEndOffset();
        TimestampOffset mine = owner.log().endOffsetForEpoch(leaderEpoch);
        long target;
        if (mine.offset() < 0 || mine.leaderEpoch() < 0) {
            target = Math.min(leaderEndOffset, leo);
        } else if (mine.leaderEpoch() != leaderEpoch) {
            target = Math.min(mine.offset(), leo);
        } else {
            target = Math.min(Math.min(leaderEndOffset, mine.offset()), leo);
        }
        LOG.info("{}: diverged from the leader (leader's epoch {} ends at {}); truncating from {} to {}",
                owner.topicPartition(), leaderEpoch, leaderEndOffset, leo, target);
        owner.truncateAsFollower(target);
    }

    private void delay(TopicPartition tp, PartitionOwner owner) {
        context.runOnContext(v -> {
            FetchState st = partitions.get(tp);
            if (st != null && st.owner == owner) {
                st.delayedUntil = System.currentTimeMillis() + settings.backoffMs();
            }
        });
    }
}
