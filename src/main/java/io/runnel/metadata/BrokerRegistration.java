package io.runnel.metadata;

import org.apache.kafka.common.Uuid;

/**
 * A broker as the metadata log knows it. {@code incarnation} is new at every start of the process, so two
 * processes claiming one node id are told apart (the second is refused while the first is unfenced);
 * {@code epoch} is the log index of the registration, as Kafka's broker epoch is the offset of its record.
 * A fenced broker leads nothing and is named leader of nothing; it is fenced from registration until it
 * has caught up with the log, and whenever the controller sees it leave.
 */
public record BrokerRegistration(int nodeId, Uuid incarnation, String host, int port, long epoch, boolean fenced) {

    public BrokerRegistration withFenced(boolean f) {
        return new BrokerRegistration(nodeId, incarnation, host, port, epoch, f);
    }
}
