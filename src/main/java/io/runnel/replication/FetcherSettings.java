package io.runnel.replication;

import io.runnel.config.BrokerConfig;

/** Kafka's replica.fetch.* settings, read once. */
record FetcherSettings(int maxWaitMs, int minBytes, int maxBytes, int partitionMaxBytes, int backoffMs,
                       int requestTimeoutMs) {

    /** replica.socket.timeout.ms's default: how long a fetch may go unanswered beyond its own wait. */
    static final int SOCKET_TIMEOUT_MS = 30_000;

    static FetcherSettings from(BrokerConfig config) {
        return new FetcherSettings(config.getInt(BrokerConfig.REPLICA_FETCH_WAIT_MAX_MS),
                config.getInt(BrokerConfig.REPLICA_FETCH_MIN_BYTES),
                config.getInt(BrokerConfig.REPLICA_FETCH_RESPONSE_MAX_BYTES),
                config.getInt(BrokerConfig.REPLICA_FETCH_MAX_BYTES),
                config.getInt(BrokerConfig.REPLICA_FETCH_BACKOFF_MS), SOCKET_TIMEOUT_MS);
    }
}
