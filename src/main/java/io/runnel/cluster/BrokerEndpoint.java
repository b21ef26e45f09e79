package io.runnel.cluster;

/** Where a broker's Kafka listener is reached (its advertised address), for clients and followers. */
public record BrokerEndpoint(int nodeId, String host, int port) {
}
