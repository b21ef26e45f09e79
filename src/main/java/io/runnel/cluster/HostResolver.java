package io.runnel.cluster;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.netty.util.NetUtil;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.apache.kafka.common.utils.Time;

/**
 * The addresses of brokers' registered hosts, for the replica-fetch check of the leader and the local
 * address a follower binds. An IP literal is parsed, never looked up; a name is looked up with
 * {@link InetAddress#getAllByName} on a worker thread (a lookup may wait on DNS, which no event loop may)
 * and kept for {@code ttlMs}; a stale entry is still answered while a fresh lookup runs in the background,
 * so only the first request for a name waits.
 *
 * <p>Threading: any thread; never blocks the caller.
 */
public final class HostResolver {

    /** How long a looked-up name is trusted: the JVM's own default for successful lookups. */
    public static final long DEFAULT_TTL_MS = 30_000;

    private final Vertx vertx;
    private final Time time;
    private final long ttlMs;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();

    private record Entry(List<InetAddress> addresses, long resolvedAtMs) {
    }

    public HostResolver(Vertx vertx, Time time, long ttlMs) {
        this.vertx = vertx;
        this.time = time;
        this.ttlMs = ttlMs;
    }

    /** An IP literal as an address (IPv4-mapped IPv6 becomes IPv4), or null if {@code host} is a name. */
    public static InetAddress literal(String host) {
        if (host == null) {
            return null;
        }
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(h);
        if (bytes == null) {
            return null;
        }
        try {
            // from raw bytes: no lookup
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /**
     * The addresses of {@code host}; completes on the caller's context (at once for a literal or a cached
     * name). Fails with UnknownHostException when the name does not resolve.
     */
    public Future<List<InetAddress>> resolve(String host) {
        InetAddress lit = literal(host);
        if (lit != null) {
            return Future.succeededFuture(List.of(lit));
        }
        Entry e = cache.get(host);
        long now = time.milliseconds();
        if (e != null) {
            if (now - e.resolvedAtMs() > ttlMs) {
                // answer the old addresses now; the next request sees the new ones
                cache.put(host, new Entry(e.addresses(), now));
                lookUp(host);
            }
            return Future.succeededFuture(e.addresses());
        }
        return lookUp(host);
    }

    private Future<List<InetAddress>> lookUp(String host) {
        return vertx.executeBlocking(() -> List.of(InetAddress.getAllByName(host)), false)
                .onSuccess(addresses -> cache.put(host, new Entry(addresses, time.milliseconds())));
    }
}
