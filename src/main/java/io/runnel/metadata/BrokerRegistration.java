package io.runnel.metadata;

import java.util.Map;

import org.apache.kafka.common.Uuid;

/**
 * A broker as the metadata log knows it. {@code incarnation} is new at every start of the process, so two
 * processes claiming one node id are told apart (the second is refused while the first is unfenced);
 * {@code epoch} is the log index of the registration, as Kafka's broker epoch is the offset of its record.
 * A fenced broker leads nothing and is named leader of nothing; it is fenced from registration until it
 * has caught up with the log, and whenever the controller sees it leave. {@code host} and {@code port} are the
 * inter-broker listener's; {@code listeners} every listener's advertised {@code host:port} by name.
 */
public record BrokerRegistration(int nodeId, Uuid incarnation, String host, int port, long epoch, boolean fenced,
                                 Map<String, String> listeners) {

    public BrokerRegistration(int nodeId, Uuid incarnation, String host, int port, long epoch, boolean fenced) {
        this(nodeId, incarnation, host, port, epoch, fenced, Map.of());
    }

    public BrokerRegistration withFenced(boolean f) {
        return new BrokerRegistration(nodeId, incarnation, host, port, epoch, f, listeners);
    }

    /** Every listener's advertised {@code host:port} by name, from a record's or snapshot's "listeners" object. */
    static Map<String, String> listeners(io.vertx.core.json.JsonObject j) {
        if (j == null) {
            return Map.of();
        }
        Map<String, String> out = new java.util.TreeMap<>();
        j.forEach(e -> out.put(e.getKey(), String.valueOf(e.getValue())));
        return Map.copyOf(out);
    }
}
