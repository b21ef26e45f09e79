package io.runnel.protocol;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Kafka's {@code max.connections} and {@code max.connections.per.ip} for the Kafka listener: the connections
 * open on this node, in total and per client address. A connection is counted from {@link #tryAcquire} until
 * {@link #release}, which its close calls exactly once.
 *
 * <p>Threading: any thread (each listener instance accepts on its own event loop).
 */
final class ConnectionQuotas {

    private final int maxConnections;
    private final int maxPerIp;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Integer> perIp = new ConcurrentHashMap<>();

    ConnectionQuotas(int maxConnections, int maxPerIp) {
        this.maxConnections = maxConnections;
        this.maxPerIp = maxPerIp;
    }

    /** Counts a new connection from {@code address}; returns why it is refused, or null when it is counted. */
    String tryAcquire(InetAddress address) {
        if (total.incrementAndGet() > maxConnections) {
            total.decrementAndGet();
            return "max.connections=" + maxConnections + " reached";
        }
        if (maxPerIp == Integer.MAX_VALUE) {
            return null;
        }
        boolean[] admitted = new boolean[1];
        perIp.compute(address, (a, n) -> {
            int count = n == null ? 0 : n;
            admitted[0] = count < maxPerIp;
            return admitted[0] ? count + 1 : n;
        });
        if (!admitted[0]) {
            total.decrementAndGet();
            return "max.connections.per.ip=" + maxPerIp + " reached for " + address.getHostAddress();
        }
        return null;
    }

    /** Uncounts a connection that {@link #tryAcquire} counted. */
    void release(InetAddress address) {
        total.decrementAndGet();
        if (maxPerIp != Integer.MAX_VALUE) {
            perIp.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
        }
    }

    /** Connections counted now. */
    int open() {
        return total.get();
    }
}
