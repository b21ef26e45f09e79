package io.runnel.metadata;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.runnel.cluster.StaleConfigsException;
import io.runnel.security.QuorumTls;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.errors.NotControllerException;
import org.apache.kafka.common.protocol.Errors;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.client.RaftClientRpc;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.netty.NettyConfigKeys;
import org.apache.ratis.netty.NettyFactory;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's member of the metadata quorum: an Apache Ratis server (a voter, or a non-voting listener
 * for a broker that is not in {@code controller.quorum.voters}) holding the metadata log and applying it
 * through {@link MetadataStateMachine}, and a Ratis client through which this node proposes records to
 * whichever voter leads. A record exists once a majority of voters has it on disk; {@link #propose}
 * answers only after this node has applied it too, so whoever asked reads its own write here.
 *
 * <p>Transport: Ratis's Netty RPC, plaintext; with {@code controller.quorum.ssl.enabled=true} ({@link QuorumTls})
 * Ratis's gRPC transport with mutual TLS instead (Ratis's Netty RPC has no TLS), where a peer is heard only if its
 * certificate is trusted. All members of a quorum must use the same transport.
 *
 * <p>Threading: {@link #start} and {@link #close} block (disk, sockets) and run off the event loop.
 * {@link #propose} and {@link #barrier} may be called from any thread; their futures complete on Ratis's
 * threads.
 */
public final class MetadataQuorum implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MetadataQuorum.class);
    private static final String PEER_PREFIX = "n";
    /** Key of the record's log index in what {@link #propose} answers. */
    public static final String LOG_INDEX = "logIndex";

    private final QuorumConfig config;
    private final MetadataStateMachine stateMachine;
    private final RaftGroupId groupId;
    private final ClientId clientId = ClientId.randomId();
    private final java.util.concurrent.atomic.AtomicLong callIds = new java.util.concurrent.atomic.AtomicLong();
    private RaftServer server;
    private RaftClientRpc rpc;
    private final java.util.Map<RaftPeerId, PeerConnection> connections = new java.util.concurrent.ConcurrentHashMap<>();
    private RaftGroup clientGroup;
    private RaftProperties clientProps;
    /** Null for the plaintext Netty transport. */
    private final QuorumTls tls;
    /** Ratis's parameters: the TLS configuration of the gRPC transport, or none. */
    private final Parameters parameters;

    public MetadataQuorum(QuorumConfig config, String clusterId, MetadataStateMachine stateMachine) {
        this(config, clusterId, stateMachine, null);
    }

    /** @param tls the quorum's mutual TLS, or null for the plaintext transport */
    public MetadataQuorum(QuorumConfig config, String clusterId, MetadataStateMachine stateMachine, QuorumTls tls) {
        this.config = config;
        this.stateMachine = stateMachine;
        this.groupId = groupId(clusterId);
        this.tls = tls;
        this.parameters = tls == null ? new Parameters()
                : GrpcFactory.newRaftParameters(new GrpcTlsConfig(tls.keyManager(), tls.trustManager(), true));
    }

    private SupportedRpcType rpcType() {
        return tls == null ? SupportedRpcType.NETTY : SupportedRpcType.GRPC;
    }

    /** The Raft group of the metadata log of cluster {@code clusterId}. */
    static RaftGroupId groupId(String clusterId) {
        return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("runnel-metadata/" + clusterId).getBytes(StandardCharsets.UTF_8)));
    }

    public static RaftPeerId peerId(int nodeId) {
        return RaftPeerId.valueOf(PEER_PREFIX + nodeId);
    }

    /** The node id of a Raft peer, or -1. */
    public static int nodeId(RaftPeerId peer) {
        if (peer == null) {
            return -1;
        }
        String s = peer.toString();
        try {
            return s.startsWith(PEER_PREFIX) ? Integer.parseInt(s.substring(PEER_PREFIX.length())) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private List<RaftPeer> voterPeers(InetSocketAddress localActual) {
        List<RaftPeer> peers = new ArrayList<>();
        for (QuorumConfig.Voter v : config.voters()) {
            String address = v.nodeId() == config.localNodeId() && localActual != null
                    ? v.host() + ":" + localActual.getPort() : v.address();
            peers.add(RaftPeer.newBuilder().setId(peerId(v.nodeId())).setAddress(address)
                    .setStartupRole(RaftPeerRole.FOLLOWER).build());
        }
        return peers;
    }

    /** Starts the Raft server on the existing storage (or formats it on first start) and the client. Blocking. */
    public void start(String listenerHost, int listenerPort) throws IOException {
        RaftProperties props = properties(listenerHost, listenerPort);
        boolean existing = Files.isDirectory(config.storageDir().resolve(groupId.getUuid().toString()));
        Files.createDirectories(config.storageDir());
        RaftGroup group = config.localVoter() || existing
                ? RaftGroup.valueOf(groupId, voterPeers(null))
                : RaftGroup.valueOf(groupId);
        server = RaftServer.newBuilder()
                .setServerId(peerId(config.localNodeId()))
                .setGroup(group)
                .setProperties(props)
                .setParameters(parameters)
                .setStateMachine(stateMachine)
                .setOption(existing ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT)
                .build();
        server.start();
        InetSocketAddress bound = server.getServerRpc().getInetSocketAddress();
        clientGroup = RaftGroup.valueOf(groupId, voterPeers(config.localVoter() ? bound : null));
        clientProps = new RaftProperties();
        RaftConfigKeys.Rpc.setType(clientProps, rpcType());
        RaftClientConfigKeys.Rpc.setRequestTimeout(clientProps,
                TimeDuration.valueOf(config.requestTimeoutMs(), TimeUnit.MILLISECONDS));
        rpc = tls == null ? new NettyFactory(parameters).newRaftClientRpc(clientId, clientProps)
                : new GrpcFactory(parameters).newRaftClientRpc(clientId, clientProps);
        rpc.addRaftPeers(clientGroup.getPeers());
        LOG.info("Metadata quorum member {} started ({}, Raft transport on {}{}, storage {})", peerId(config.localNodeId()),
                config.localVoter() ? "voter of " + config.voters().size() : "learner", bound,
                tls == null ? "" : " with mutual TLS", config.storageDir());
        if (!config.localVoter()) {
            joinAsListener(bound);
        }
    }

    /** A broker that is not a voter asks the quorum to add it as a non-voting listener (once). */
    private void joinAsListener(InetSocketAddress bound) {
        RaftPeer me = RaftPeer.newBuilder().setId(peerId(config.localNodeId()))
                .setAddress(config.voters().get(0).host().equals("127.0.0.1") ? "127.0.0.1:" + bound.getPort()
                        : bound.getHostString() + ":" + bound.getPort())
                .setStartupRole(RaftPeerRole.LISTENER).build();
        try (RaftClient admin = RaftClient.newBuilder().setRaftGroup(clientGroup).setProperties(clientProps).setParameters(parameters)
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(50,
                        TimeDuration.valueOf(200, TimeUnit.MILLISECONDS))).build()) {
            RaftClientReply reply = admin.admin().setConfiguration(SetConfigurationRequest.Arguments.newBuilder()
                    .setServersInNewConf(List.of()).setListenersInNewConf(List.of(me))
                    .setMode(SetConfigurationRequest.Mode.ADD).build());
            if (!reply.isSuccess()) {
                LOG.warn("Joining the metadata quorum as a listener was refused: {}", reply.getException());
            }
        } catch (IOException e) {
            // already a listener (a restart), or the quorum is not reachable yet: this node keeps following
            // what it has, and the leader sends it the log once the configuration holds it
            LOG.warn("Joining the metadata quorum as a listener failed: {}", e.toString());
        }
    }

    /** This node's place in {@code controller.quorum.voters} (0 for the first; a learner counts after them all). */
    private int rank() {
        for (int i = 0; i < config.voters().size(); i++) {
            if (config.voters().get(i).nodeId() == config.localNodeId()) {
                return i;
            }
        }
        return config.voters().size();
    }

    private RaftProperties properties(String host, int port) {
        RaftProperties p = new RaftProperties();
        // plaintext: Ratis's Netty transport with a leader that cannot deadlock as it steps down (RaftTransport)
        RaftConfigKeys.Rpc.setType(p, tls == null ? new RaftTransport() : rpcType());
        RaftServerConfigKeys.setStorageDir(p, List.of(config.storageDir().toFile()));
        if (tls == null) {
            NettyConfigKeys.Server.setHost(p, host);
            NettyConfigKeys.Server.setPort(p, port);
        } else {
            // one port for peers, clients and admin requests, all under the same mutual TLS
            GrpcConfigKeys.Server.setHost(p, host);
            GrpcConfigKeys.Server.setPort(p, port);
        }
        int et = config.electionTimeoutMs();
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(et, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(2L * et, TimeUnit.MILLISECONDS));
        // The first election after start-up comes early, and in turn: a quorum of one has nobody to wait for;
        // voters started together would otherwise wait a whole election timeout, and with the same random
        // range two of them often split the vote and wait another. So the first voter listed tries a tenth of
        // the timeout after it starts, unopposed for a whole timeout (its first vote requests go over cold
        // connections into JVMs still starting, and can take several rounds); the next ones take their turn
        // a timeout apart, should those before them be down. A first election cannot disturb a quorum that
        // has a leader: with pre-vote, voters that hear from their leader refuse, and a failed attempt falls
        // back to the normal randomized timeout.
        RaftServerConfigKeys.LeaderElection.setPreVote(p, true);
        long first = config.voters().size() == 1 ? 10 : rank() == 0 ? Math.max(10, et / 10) : (long) rank() * et;
        long spread = config.voters().size() == 1 ? 10 : Math.max(10, et / 10);
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, TimeDuration.valueOf(first, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p,
                TimeDuration.valueOf(first + spread, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(Math.max(1000, et), TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, config.snapshotIntervalRecords());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf("8MB"));
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf("1MB"));
        RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, true);
        return p;
    }

    /**
     * Proposes a record; completes with the apply result's {@code ok} value (plus {@value #LOG_INDEX}, the
     * record's index in the log) once a majority has the record
     * and this node has applied it, or fails with the kafka-clients ApiException the record was refused
     * with (NOT_CONTROLLER / REQUEST_TIMED_OUT when no quorum answered in time).
     */
    public CompletableFuture<JsonObject> propose(JsonObject record) {
        return propose(record, callIds.incrementAndGet());
    }

    /** {@link #propose} as the request with call id {@code callId} of this node's client. */
    CompletableFuture<JsonObject> propose(JsonObject record, long callId) {
        Message message = Message.valueOf(ByteString.copyFromUtf8(record.encode()));
        return send(message, RaftClientRequest.writeRequestType(), callId,
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMs()))
                .thenApply(reply -> {
                    JsonObject body = new JsonObject(reply.getMessage().getContent().toStringUtf8());
                    if (body.containsKey("stale")) {
                        throw new CompletionException(new StaleConfigsException(record.getString("type"),
                                MetadataRecords.strings(body.getJsonObject("stale"))));
                    }
                    if (body.containsKey("error")) {
                        throw new CompletionException(Errors.forCode(body.getInteger("error").shortValue())
                                .exception(body.getString("message")));
                    }
                    return new Applied(body.getJsonObject("ok"), reply.getLogIndex());
                })
                .thenCompose(a -> stateMachine.awaitApplied(a.index())
                        .thenApply(v -> a.value().copy().put(LOG_INDEX, a.index())));
    }

    /**
     * Sends one request to the leader as this node's own server knows it: straight into the local server
     * when it leads (the controller's own records never take the network), over the Raft transport otherwise.
     * No client-side leader cache and no retries here: a request to a leader that is gone fails at once
     * (NOT_CONTROLLER) and its caller tries again once the quorum has a leader, so a dead leader never
     * holds requests back.
     */
    private CompletableFuture<RaftClientReply> send(Message message, RaftClientRequest.Type type) {
        return send(message, type, callIds.incrementAndGet(),
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMs()));
    }

    /**
     * Sends, and sends again every {@value #RETRY_MS} ms until {@code deadline} while the quorum answers
     * NOT_CONTROLLER (no leader yet, a leader that is gone or not ready: what a broker sees during an
     * election). Not every such answer proves the request untaken: a connection that broke after the request
     * was written reports the same. So every attempt carries the first one's call id, and Ratis's retry
     * cache (which every server fills as it applies the log, so a new leader has it too) answers a request it
     * has already taken with that entry's reply instead of appending it again: a retry never commits a record
     * twice. A timeout is indeterminate (the record may commit later), so it is never retried here.
     */
    private CompletableFuture<RaftClientReply> send(Message message, RaftClientRequest.Type type, long callId,
                                                    long deadline) {
        return sendOnce(message, type, callId).handle((reply, t) -> {
            if (t == null) {
                return CompletableFuture.completedFuture(reply);
            }
            Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            if (!(cause instanceof NotControllerException) || System.nanoTime() + RETRY_NANOS > deadline) {
                return CompletableFuture.<RaftClientReply>failedFuture(cause);
            }
            return CompletableFuture.supplyAsync(() -> null,
                    CompletableFuture.delayedExecutor(RETRY_MS, TimeUnit.MILLISECONDS))
                    .thenCompose(x -> send(message, type, callId, deadline));
        }).thenCompose(f -> f);
    }

    private static final java.util.concurrent.Executor SENDER = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "metadata-client");
        t.setDaemon(true);
        return t;
    });
    private static final long RETRY_MS = 50;
    private static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(RETRY_MS);

    private CompletableFuture<RaftClientReply> sendOnce(Message message, RaftClientRequest.Type type, long callId) {
        RaftPeerId leader;
        long term;
        try {
            var info = server.getDivision(groupId).getInfo();
            leader = info.getLeaderId();
            term = info.getCurrentTerm();
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(unavailable(e));
        }
        if (leader == null) {
            return CompletableFuture.failedFuture(new NotControllerException("The metadata quorum has no leader"));
        }
        RaftClientRequest request = RaftClientRequest.newBuilder().setClientId(clientId).setServerId(leader)
                .setGroupId(groupId).setCallId(callId).setMessage(message).setType(type)
                .setTimeoutMs(config.requestTimeoutMs()).build();
        if (leader.equals(server.getId())) {
            // the controller's own records never take the network; but Ratis may block the submitting thread
            // (a join in executeSubmitClientRequestAsync, seen for 100 s on a leader thawed after SIGSTOP), so it is
            // submitted from SENDER, never from the caller's context (a shard's partitions, an event loop)
            CompletableFuture<RaftClientReply> sent = CompletableFuture.supplyAsync(() -> {
                try {
                    return server.submitClientRequestAsync(request);
                } catch (IOException | RuntimeException e) {
                    return CompletableFuture.<RaftClientReply>failedFuture(unavailable(e));
                }
            }, SENDER).thenCompose(f -> f);
            return sent.orTimeout(config.requestTimeoutMs(), TimeUnit.MILLISECONDS).handle((reply, t) -> answer(reply, t));
        }
        PeerConnection connection = connections.computeIfAbsent(leader, PeerConnection::new);
        long[] generation = {-1};
        // Ratis's Netty client may connect synchronously: never on the caller's thread, which can be a
        // partition's or the metadata context
        return CompletableFuture.supplyAsync(() -> connection.send(term, request, generation), SENDER)
                .thenCompose(f -> f).orTimeout(config.requestTimeoutMs(), TimeUnit.MILLISECONDS).handle((reply, t) -> {
            Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            if (cause instanceof TimeoutException) {
                // the only sign this Ratis version gives of a connection whose far end is gone
                SENDER.execute(() -> connection.renewAfterTimeout(generation[0]));
            } else if (cause != null && tls != null && !connection.renewedSince(generation[0])) {
                // Ratis's gRPC client (3.1) closes its request stream for good on the first failed answer
                // (NotLeader, LeaderNotReady, a broken stream): every later request on it fails at once with
                // "is closed", so the connection is renewed before the caller tries again
                SENDER.execute(() -> connection.renewAfterFailure(generation[0], cause));
                return answer(reply, t);
            } else if (cause != null && connection.renewedSince(generation[0])) {
                // dropped with the connection: the leader may have taken it, so it is indeterminate, never retried
                throw new CompletionException(new org.apache.kafka.common.errors.TimeoutException(
                        "The metadata quorum did not answer: the connection to " + leader
                                + " was renewed while the request was in flight"));
            }
            return answer(reply, t);
        });
    }

    private RaftClientReply answer(RaftClientReply reply, Throwable t) {
        if (t != null) {
            throw new CompletionException(unavailable(t));
        }
        if (!reply.isSuccess()) {
            throw new CompletionException(unavailable(reply.getException()));
        }
        return reply;
    }

    /**
     * This node's client connection to one voter. Ratis's Netty client (3.1) keeps one connection per peer
     * and never notices by itself that the process behind it died: a request written into the dead channel is
     * never answered, and the connection is only replaced when its user asks. A peer that was killed and came
     * back leads again only in a later term, so the connection is renewed before its first use in a new term;
     * and after a request on it timed out, for a connection that broke while the leader stayed. Renewal closes
     * the old connection and fails what was still in flight on it; those requests report
     * {@link #renewedSince} and are indeterminate.
     *
     * <p>Threading: {@link #send} and {@link #renewAfterTimeout} may block (connecting, closing) and run on
     * {@link #SENDER}; the monitor serialises renewals with sends, so nothing is written to a connection that
     * is being replaced.
     */
    private final class PeerConnection {
        private final RaftPeerId peer;
        /** The term of the last request sent on this connection; -1 before the first. */
        private long term = -1;
        /** Counts renewals; written under the monitor, read without it (by completion handlers on any thread). */
        private volatile long generation;

        PeerConnection(RaftPeerId peer) {
            this.peer = peer;
        }

        /**
         * Sends {@code request} on the connection, renewed first if the term moved on since its last use;
         * stores the connection's generation in {@code sentOn[0]}.
         */
        synchronized CompletableFuture<RaftClientReply> send(long currentTerm, RaftClientRequest request, long[] sentOn) {
            if (term != -1 && term != currentTerm) {
                renew("term " + currentTerm + " began since its last use in term " + term);
            }
            term = currentTerm;
            sentOn[0] = generation;
            // Netty's client takes each request as it comes; gRPC's ordered stream wants the sliding-window
            // sequence numbers that only a RaftClient adds (a bare request is refused and the stream closed), and
            // its unordered stream is what a single request is: the retry cache still answers a repeated call id
            return tls == null ? rpc.sendRequestAsync(request) : rpc.sendRequestAsyncUnordered(request);
        }

        synchronized void renewAfterTimeout(long sentOn) {
            if (generation == sentOn) {
                renew("a request on it had no answer within " + config.requestTimeoutMs() + " ms");
            }
        }

        synchronized void renewAfterFailure(long sentOn, Throwable cause) {
            if (generation == sentOn) {
                renew("a request on it failed (" + cause + ")");
            }
        }

        boolean renewedSince(long sentOn) {
            return generation != sentOn;
        }

        private void renew(String why) {
            LOG.info("Reconnecting to metadata quorum member {}: {}", peer, why);
            generation++;
            rpc.handleException(peer, new IOException(why), true);
        }
    }

    private record Applied(JsonObject value, long index) {
    }

    private RuntimeException unavailable(Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (cause instanceof TimeoutException) {
            return new org.apache.kafka.common.errors.TimeoutException("The metadata quorum did not commit the change within "
                    + config.requestTimeoutMs() + " ms");
        }
        return new NotControllerException("The metadata quorum is not available: " + cause);
    }

    /**
     * Completes once this node has applied everything the leader had applied when asked: what a broker
     * waits for before it answers that a topic does not exist, so a topic created through another broker is
     * seen here too.
     */
    public CompletableFuture<Void> barrier() {
        return send(Message.valueOf("applied"), RaftClientRequest.readRequestType())
                .thenCompose(reply -> stateMachine.awaitApplied(
                        Long.parseLong(reply.getMessage().getContent().toStringUtf8())));
    }

    /** Whether this node is the Raft leader, ready to act as the controller. Any thread. */
    public boolean isLeaderReady() {
        try {
            var info = server.getDivision(groupId).getInfo();
            return info.isLeader() && info.isLeaderReady();
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * On the leader: for every other member of the quorum (voters and listeners alike), how many milliseconds
     * ago it last answered the leader, counted from when this node became leader if it never did. Empty on a
     * node that does not lead. This is the heartbeat a Kafka broker sends its controller: a broker that
     * answers has not failed, whatever its Hazelcast member shows (any thread; local, non-blocking).
     */
    public java.util.Map<Integer, Long> silenceMs() {
        try {
            var info = server.getDivision(groupId).getInfo();
            if (!info.isLeader()) {
                return java.util.Map.of();
            }
            java.util.Map<Integer, Long> silence = new java.util.HashMap<>();
            for (var follower : info.getRoleInfoProto().getLeaderInfo().getFollowerInfoList()) {
                int node = nodeId(RaftPeerId.valueOf(follower.getId().getId()));
                if (node >= 0) {
                    silence.put(node, follower.getLastRpcElapsedTimeMs());
                }
            }
            return silence;
        } catch (IOException | RuntimeException e) {
            return java.util.Map.of();
        }
    }

    private volatile long lastContactNanos = System.nanoTime();

    /**
     * Milliseconds since this node was last in touch with a working quorum: on a follower or listener, since the
     * Raft leader last reached it; on the leader, since a majority of the voters (itself included) last
     * answered it; counted from start-up before either happened. A candidate is in touch with nobody. Builds
     * Ratis's role information: a worker thread, not an event loop.
     */
    public long contactAgeMs() {
        long now = System.nanoTime();
        try {
            var info = server.getDivision(groupId).getInfo();
            var role = info.getRoleInfoProto();
            long age = -1;
            if (info.isLeader()) {
                if (info.isLeaderReady()) {
                    List<Long> voters = new ArrayList<>();
                    for (var follower : role.getLeaderInfo().getFollowerInfoList()) {
                        RaftPeerId peer = RaftPeerId.valueOf(follower.getId().getId());
                        if (config.voters().stream().anyMatch(v -> peerId(v.nodeId()).equals(peer))) {
                            voters.add(follower.getLastRpcElapsedTimeMs());
                        }
                    }
                    Collections.sort(voters);
                    // a majority of all voters, this leader being one of them
                    int othersNeeded = config.voters().size() / 2;
                    age = othersNeeded == 0 ? 0 : othersNeeded <= voters.size() ? voters.get(othersNeeded - 1) : -1;
                }
            } else if (role.hasFollowerInfo() && role.getFollowerInfo().hasLeaderInfo()
                    && role.getFollowerInfo().getLeaderInfo().hasId()) {
                age = role.getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs();
            }
            if (age >= 0) {
                long at = now - TimeUnit.MILLISECONDS.toNanos(age);
                if (at - lastContactNanos > 0) {
                    lastContactNanos = at;
                }
            }
        } catch (IOException | RuntimeException e) {
            // no division (stopping): no contact
        }
        return TimeUnit.NANOSECONDS.toMillis(now - lastContactNanos);
    }

    /** The port this node's Raft transport listens on (once started). */
    public int boundPort() {
        return server.getServerRpc().getInetSocketAddress().getPort();
    }

    public int leaderId() {
        try {
            return nodeId(server.getDivision(groupId).getInfo().getLeaderId());
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    public MetadataStateMachine stateMachine() {
        return stateMachine;
    }

    public QuorumConfig config() {
        return config;
    }

    @Override
    public void close() {
        try {
            if (rpc != null) {
                rpc.close();
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Closing the metadata client failed: {}", e.toString());
        }
        try {
            if (server != null) {
                server.close();
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Closing the metadata quorum member failed: {}", e.toString());
        }
    }
}
