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
 * into fence records. A registered, unfenced broker whose process is no longer a live member (or whose
 * node id a newer process holds) is fenced, which elects new leaders for what it led and takes it out of
 * ISRs, all in that one record. Everything else a controller decides (placement, elections, ISR changes)
 * is checked as records are applied ({@link MetadataImage}), so it needs no active code.
 *
 * <p>Threading: runs on one context; membership events and a periodic check (which also covers events
 * missed while this node was not the leader) hop onto it.
 */
public final class QuorumController {

    private static final Logger LOG = LoggerFactory.getLogger(QuorumController.class);
    static final long CHECK_INTERVAL_MS = 500;

    private final Context context;
    private final MetadataQuorum quorum;
    private final Membership membership;
    private final Set<Integer> fencing = new HashSet<>();
    private long timer = -1;

    public QuorumController(Context context, MetadataQuorum quorum, Membership membership) {
        this.context = context;
        this.quorum = quorum;
        this.membership = membership;
    }

    public void start() {
        membership.onChange(() -> context.runOnContext(v -> check()));
        context.runOnContext(v -> timer = context.owner().setPeriodic(CHECK_INTERVAL_MS, id -> check()));
    }

    /** Called when this node becomes the leader (any thread). */
    public void leaderReady() {
        context.runOnContext(v -> check());
    }

    private void check() {
        if (!quorum.isLeaderReady()) {
            return;
        }
        Map<Integer, Uuid> live = membership.liveBrokers();
        for (BrokerRegistration b : quorum.stateMachine().image().brokers()) {
            if (b.fenced() || b.incarnation().equals(live.get(b.nodeId())) || !fencing.add(b.nodeId())) {
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

    public void stop() {
        if (timer >= 0) {
            context.owner().cancelTimer(timer);
        }
    }
}
