package io.runnel.cluster;

import java.util.Map;

/**
 * Where a broker's Kafka listener is reached (its advertised address), for clients and followers: {@code host}
 * and {@code port} are those of its inter-broker listener; {@code listeners} holds every listener's advertised
 * {@code host:port} by listener name (empty for a registration that predates it).
 */
public record BrokerEndpoint(int nodeId, String host, int port, Map<String, String> listeners) {

    public BrokerEndpoint(int nodeId, String host, int port) {
        this(nodeId, host, port, Map.of());
    }

    /**
     * This broker as reached on {@code listenerName}, as Kafka answers each client with the endpoints of the
     * listener it connected through; null when the broker has no such listener (Kafka leaves it out). Without
     * per-listener endpoints (an older registration), the registered one.
     */
    public BrokerEndpoint on(String listenerName) {
        if (listeners.isEmpty()) {
            return this;
        }
        String hostPort = listeners.get(listenerName);
        if (hostPort == null) {
            return null;
        }
        int colon = hostPort.lastIndexOf(':');
        return new BrokerEndpoint(nodeId, hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)),
                listeners);
    }
}
