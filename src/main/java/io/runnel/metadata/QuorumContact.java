package io.runnel.metadata;

import java.util.function.BooleanSupplier;

import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this node has lost touch with the metadata quorum for longer than {@code broker.session.timeout.ms}:
 * no Raft leader has reached it (or, on the leader, no majority of voters has answered it) for that long. The
 * controller on the other side fences a broker it has not heard from for that long and moves its
 * leaderships, so such a node's own image, in which it may still lead, is probably stale. A partition leader
 * asks this when an acks=all produce finds too few in-sync replicas: the answer is then NOT_LEADER_OR_FOLLOWER,
 * which sends the client to refresh its metadata and find the new leader, rather than NOT_ENOUGH_REPLICAS,
 * which a client retries against the same (cut-off) broker until its metadata expires.
 *
 * <p>Sampled every {@value #INTERVAL_MS} ms on a worker thread (Ratis builds its role information under its
 * own locks); {@link #getAsBoolean} reads a volatile and is safe from any thread.
 */
public final class QuorumContact implements BooleanSupplier {

    private static final Logger LOG = LoggerFactory.getLogger(QuorumContact.class);
    static final long INTERVAL_MS = 250;

    private final MetadataQuorum quorum;
    private final long sessionTimeoutMs;
    private volatile boolean lost;

    private QuorumContact(MetadataQuorum quorum, long sessionTimeoutMs) {
        this.quorum = quorum;
        this.sessionTimeoutMs = sessionTimeoutMs;
    }

    /** Starts sampling {@code quorum}'s contact on {@code vertx}'s timers until Vert.x closes. */
    public static QuorumContact start(Vertx vertx, MetadataQuorum quorum, long sessionTimeoutMs) {
        QuorumContact contact = new QuorumContact(quorum, sessionTimeoutMs);
        vertx.setPeriodic(INTERVAL_MS, id -> vertx.executeBlocking(() -> {
            contact.sample();
            return null;
        }, false));
        return contact;
    }

    void sample() {
        long age = quorum.contactAgeMs();
        boolean now = age > sessionTimeoutMs;
        if (now != lost) {
            lost = now;
            if (now) {
                LOG.warn("No contact with the metadata quorum for {} ms (broker.session.timeout.ms={}): this node is"
                        + " probably fenced, and partitions short of in-sync replicas send producers elsewhere", age, sessionTimeoutMs);
            } else {
                LOG.info("In contact with the metadata quorum again");
            }
        }
    }

    @Override
    public boolean getAsBoolean() {
        return lost;
    }
}
