package io.runnel.metadata;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import io.runnel.cluster.Membership;
import io.vertx.core.Context;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active controller's own duty, on whichever node leads the metadata quorum: turn failure detection
 * into fence records. A registered, unfenced broker whose process this controller has seen live and no
 * longer sees, or whose node id a newer live process holds or is asking to register with (a restart after
 * kill -9), is fenced at once,
 * which elects new leaders for what it led and takes it out of ISRs, all in that one record. One it has
 * never seen live (registered through the log before its membership reached this node, absent since before
 * this node started, or in a Hazelcast cluster of its own after members that started together each formed
 * one) is fenced once it has been missing for {@code broker.session.timeout.ms} and the quorum has not
 * heard from it for as long: as Kafka's controller fences a broker whose heartbeats stop, never one that
 * still answers it. Every voter tracks whom it has seen live, leader or not, so a newly elected controller
 * fences at once a broker that left before it took over. Everything else a controller decides (placement, elections, ISR changes) is checked as records are
 * applied ({@link MetadataImage}), so it needs no active code.
 *
 * <p>Threading: runs on one context; membership events and a periodic check hop onto it.
 */
public final class QuorumController {

    private static final Logger LOG = LoggerFactory.getLogger(QuorumController.class);
    static final long CHECK_INTERVAL_MS = 500;
    /** How recent a refused registration must be to show a newer process live. */
    static final long REGISTERING_WINDOW_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(3);

    private final Context context;
    private final MetadataQuorum quorum;
    private Membership membership;
    private final int selfNodeId;
    private final Uuid selfIncarnation;
    private final long sessionTimeoutMs;
    private final long sessionTimeoutNanos;
    private final Set<Integer> fencing = new HashSet<>();
    private final Map<Integer, Uuid> seenLive = new java.util.HashMap<>();
    private final Map<Integer, Long> absentSince = new java.util.HashMap<>();
    private long timer = -1;
    private boolean stopped;

    /**
     * @param selfNodeId      this node's id
     * @param selfIncarnation this process's incarnation: any other registration of this node id is an older
     *                        process, gone
     */
    public QuorumController(Context context, MetadataQuorum quorum, int selfNodeId, Uuid selfIncarnation,
                            long sessionTimeoutMs) {
        this.context = context;
        this.quorum = quorum;
        this.selfNodeId = selfNodeId;
        this.selfIncarnation = selfIncarnation;
        this.sessionTimeoutMs = sessionTimeoutMs;
        this.sessionTimeoutNanos = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(sessionTimeoutMs);
    }

    /**
     * Gives the controller Hazelcast's membership to go by (any thread). In a cluster, this node's member
     * joins after the metadata quorum may already have made it the leader; until then it fences only the
     * brokers that the quorum has not heard from for the session timeout.
     */
    public void start(Membership membership) {
        context.runOnContext(v -> {
            if (stopped) {
                return;
            }
            this.membership = membership;
            membership.onChange(() -> context.runOnContext(x -> check()));
            startTimer();
            check();
        });
    }

    /** Called when this node becomes the leader (any thread). */
    public void leaderReady() {
        context.runOnContext(v -> {
            startTimer();
            check();
        });
    }

    private void startTimer() {
        if (timer < 0 && !stopped) {
            timer = context.owner().setPeriodic(CHECK_INTERVAL_MS, id -> check());
        }
    }

    private void check() {
        if (stopped) {
            return;
        }
        Map<Integer, Uuid> live = membership == null ? Map.of() : membership.liveBrokers();
        // every voter keeps track, so a controller elected after a broker vanished (the old controller's own
        // node killed, say) knows that broker was live and fences it at once, not a session timeout later
        seenLive.putAll(live);
        if (!quorum.isLeaderReady()) {
            return;
        }
        Map<Integer, Long> silence = quorum.silenceMs();
        long now = System.nanoTime();
        for (BrokerRegistration b : quorum.stateMachine().image().brokers()) {
            if (b.fenced() || b.incarnation().equals(live.get(b.nodeId()))
                    || b.nodeId() == selfNodeId && b.incarnation().equals(selfIncarnation)) {
                absentSince.remove(b.nodeId());
                continue;
            }
            long since = absentSince.computeIfAbsent(b.nodeId(), n -> now);
            String why;
            if (b.incarnation().equals(seenLive.get(b.nodeId()))) {
                why = "its member left the cluster";
            } else if (live.containsKey(b.nodeId()) || b.nodeId() == selfNodeId) {
                why = "a newer process of its node id is live";
            } else if (newerProcessRegistering(b, now)) {
                // after kill -9 and a restart, the new process asks to register before its Hazelcast member has
                // joined (seconds on a busy node); the old one, never seen live here, would otherwise hold the id
                // until that member shows up
                why = "a newer process of its node id is registering";
            } else if (now - since >= sessionTimeoutNanos
                    && silence.getOrDefault(b.nodeId(), Long.MAX_VALUE) >= sessionTimeoutMs) {
                // never seen as a member here (absent since before this node joined, or in a Hazelcast cluster
                // of its own that has not merged yet): fenced only once it has also stopped answering the quorum
                why = "neither a member nor heard by the quorum for " + sessionTimeoutMs + " ms";
            } else {
                continue;
            }
            if (!fencing.add(b.nodeId())) {
                continue;
            }
            LOG.info("Fencing broker {} (incarnation {}): {}", b.nodeId(), b.incarnation(), why);
            MetadataFutures.on(context, quorum.propose(MetadataRecords.fenceBroker(b.nodeId(), b.incarnation())))
                    .onComplete(ar -> {
                        fencing.remove(b.nodeId());
                        if (ar.failed()) {
                            LOG.info("Fencing broker {} failed (tried again): {}", b.nodeId(), ar.cause().toString());
                        }
                    });
        }
    }

    /**
     * Whether a process of {@code b}'s node id other than {@code b}'s asked to register after {@code b} did, within
     * the last {@link #REGISTERING_WINDOW_NANOS}: a broker retries a refused registration every second while it
     * runs, so a recent attempt shows a live process (b's registration index is its epoch).
     */
    private boolean newerProcessRegistering(BrokerRegistration b, long now) {
        MetadataImage.RefusedRegistration r = quorum.stateMachine().image().refusedRegistration(b.nodeId());
        return r != null && !r.incarnation().equals(b.incarnation()) && r.index() > b.epoch()
                && now - r.appliedNanos() < REGISTERING_WINDOW_NANOS;
    }

    /** Stops fencing (any thread). */
    public void stop() {
        context.runOnContext(v -> {
            stopped = true;
            if (timer >= 0) {
                context.owner().cancelTimer(timer);
            }
        });
    }
}
