package io.runnel.api;

import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicLong;

import io.runnel.cluster.BrokerDirectory;
import io.runnel.cluster.BrokerEndpoint;
import io.runnel.cluster.HostResolver;
import io.runnel.protocol.RateLimitedLog;
import io.vertx.core.Future;
import io.vertx.core.net.SocketAddress;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether a Fetch that names a replica id may act as that follower. A follower's fetch offset
 * moves the leader's high watermark and ISR, so a client that claims a follower's id could complete
 * acks=all writes that only the leader holds. Kafka only asks for CLUSTER_ACTION on the cluster (FetchHandler checks
 * that first, against the principal the connection authenticated as: a broker logs in on the inter-broker listener
 * with its own TLS certificate or SASL user); on top of it, a replica fetch is taken only from the broker that owns
 * the id: the id must be registered and the connection must come from an address of that broker's registered host
 * (a name is resolved; the follower binds its fetch connections to that address, see ReplicaFetcherManager), so
 * that neither a client that may CLUSTER_ACTION nor one that shares no credentials can pose as another broker.
 * Anything else gets TOPIC_AUTHORIZATION_FAILED on every partition, as Kafka answers a follower fetch without
 * ClusterAction.
 *
 * <p>A fenced broker passes: Kafka serves its fetches too (it must catch up to rejoin) and only keeps it
 * out of the ISR and the high watermark (PartitionOwner's eligibility check).
 *
 * <p>Refusals are logged as a warning, at most one per {@link #WARN_INTERVAL_MS}, with the count
 * of the ones not logged.
 *
 * <p>Threading: any thread; {@link #admit} completes on the caller's context and never blocks.
 */
public final class ReplicaFetchGuard {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicaFetchGuard.class);
    static final long WARN_INTERVAL_MS = 10_000;

    private final BrokerDirectory brokers;
    private final HostResolver resolver;
    private final RateLimitedLog warnings;
    private final AtomicLong refused = new AtomicLong();

    public ReplicaFetchGuard(BrokerDirectory brokers, HostResolver resolver, Time time) {
        this.brokers = brokers;
        this.resolver = resolver;
        this.warnings = new RateLimitedLog(1, java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(WARN_INTERVAL_MS),
                time::nanoseconds);
    }

    /**
     * NONE if the connection from {@code remote} may fetch as replica {@code replicaId} (a broker id, 0 or
     * more), else the error for every partition of the request.
     */
    public Future<Errors> admit(int replicaId, SocketAddress remote) {
        BrokerEndpoint owner = brokers.endpoint(replicaId);
        if (owner == null) {
            return Future.succeededFuture(refuse(replicaId, remote, "no broker with that id is registered"));
        }
        InetAddress from = remote == null ? null : HostResolver.literal(remote.hostAddress());
        if (from == null) {
            return Future.succeededFuture(refuse(replicaId, remote, "the connection has no IP address"));
        }
        return resolver.resolve(owner.host()).map(addresses -> addresses.contains(from) ? Errors.NONE
                : refuse(replicaId, remote, "broker " + replicaId + " is registered at " + owner.host() + " " + addresses))
                .recover(t -> Future.succeededFuture(refuse(replicaId, remote,
                        "broker " + replicaId + "'s host " + owner.host() + " does not resolve: " + t)));
    }

    /** How many replica fetches were refused since start (tests, diagnostics). */
    public long refusedCount() {
        return refused.get();
    }

    private Errors refuse(int replicaId, SocketAddress remote, String why) {
        refused.incrementAndGet();
        long skipped = warnings.admit();
        if (skipped >= 0) {
            LOG.warn("Refused a Fetch from {} claiming to be replica {}: {}{}", remote == null ? "?" : remote.hostAddress(),
                    replicaId, why, skipped > 0 ? " (" + skipped + " more refused since the last warning)" : "");
        }
        return Errors.TOPIC_AUTHORIZATION_FAILED;
    }
}
