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
 * longer sees, or whose node id a newer live process holds (a restart after kill -9), is fenced at once,
 * which elects new leaders for what it led and takes it out of ISRs, all in that one record. One it has
 * never seen live (registered through the log before its membership reached this node, or absent since
 * before this node started) is fenced once it has been missing for {@code broker.session.timeout.ms}.
 * Every voter tracks whom it has seen live, leader or not, so a newly elected controller fences at once a
 * broker that left before it took over. Nothing is fenced before {@link #start} gives it membership to go
 * by. Everything else a controller decides (placement, elections, ISR changes) is checked as records are
 * applied ({@link MetadataImage}), so it needs no active code.
 *
 * <p>Threading: runs on one context; membership events and a periodic check hop onto it.
 */
public final class QuorumController {

    private static final Logger LOG = LoggerFactory.getLogger(QuorumController.class);
    static final long CHECK_INTERVAL_MS = 500;

    private final Context context;
    private final MetadataQuorum quorum;
    private Membership membership;
    private final long sessionTimeoutNanos;
    private final Set<Integer> fencing = new HashSet<>();
    private final Map<Integer, Uuid> seenLive = new java.util.HashMap<>();
    private final Map<Integer, Long> absentSince = new java.util.HashMap<>();
    private long timer = -1;
    private boolean stopped;

    public QuorumController(Context context, MetadataQuorum quorum, long sessionTimeoutMs) {
        this.context = context;
        this.quorum = quorum;
        this.sessionTimeoutNanos = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(sessionTimeoutMs);
    }

    /**
     * Starts fencing by {@code membership} (any thread). Until then this node leaves every broker as the log
     * has it: in a cluster, its Hazelcast member joins after the metadata quorum may already have made it
     * the leader, and a controller that cannot see members yet must not take their absence for a failure.
     */
    public void start(Membership membership) {
        context.runOnContext(v -> {
            if (stopped) {
                return;
            }
            this.membership = membership;
            membership.onChange(() -> context.runOnContext(x -> check()));
            timer = context.owner().setPeriodic(CHECK_INTERVAL_MS, id -> check());
            check();
        });
    }

    /** Called when this node becomes the leader (any thread). */
    public void leaderReady() {
        context.runOnContext(v -> check());
    }

    private void check() {
        if (membership == null || stopped) {
            return;
        }
        Map<Integer, Uuid> live = membership.liveBrokers();
        // every voter keeps track, so a controller elected after a broker vanished (the old controller's own
        // node killed, say) knows that broker was live and fences it at once, not a session timeout later
        seenLive.putAll(live);
        if (!quorum.isLeaderReady()) {
            return;
        }
        long now = System.nanoTime();
        for (BrokerRegistration b : quorum.stateMachine().image().brokers()) {
            if (b.fenced() || b.incarnation().equals(live.get(b.nodeId()))) {
                absentSince.remove(b.nodeId());
                continue;
            }
            long since = absentSince.computeIfAbsent(b.nodeId(), n -> now);
            boolean wasLive = b.incarnation().equals(seenLive.get(b.nodeId()));
            boolean superseded = live.containsKey(b.nodeId());
            if (!wasLive && !superseded && now - since < sessionTimeoutNanos || !fencing.add(b.nodeId())) {
                continue;
            }
            LOG.info("Fencing broker {} (incarnation {}): it is no longer a live member", b.nodeId(), b.incarnation());
            MetadataFutures.on(context, quorum.propose(MetadataRecords.fenceBroker(b.nodeId(), b.incarnation())))
                    .onComplete(ar -> {
                        fencing.remove(b.nodeId());
                        if (ar.failed()) {
                            LOG.info("Fencing broker {} failed (tried again): {}", b.nodeId(), ar.cause().toString());
                        }
                    });
        }
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
