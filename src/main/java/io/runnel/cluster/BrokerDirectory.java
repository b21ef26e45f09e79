package io.runnel.cluster;

import java.util.Collection;

/** The live brokers and their Kafka endpoints, as membership knows them. Any thread. */
public interface BrokerDirectory {

    /** The endpoint of a live broker, or null if it is not live. */
    BrokerEndpoint endpoint(int nodeId);

    Collection<BrokerEndpoint> liveBrokers();
}
