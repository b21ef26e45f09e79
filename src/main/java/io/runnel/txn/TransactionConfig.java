package io.runnel.txn;

import io.runnel.config.BrokerConfig;

/**
 * The transaction coordinator's settings, Kafka's keys and defaults.
 *
 * @param appendTimeoutMs          how long a write to {@code __transaction_state} waits for its in-sync replicas
 *                                 ({@code request.timeout.ms}, as Kafka's coordinator)
 * @param serverTransactionVersion the finalized {@code transaction.version} (2: KIP-890 part 2, as a new Kafka 4.4
 *                                 cluster has it); transactions the coordinator aborts on its own use it
 */
public record TransactionConfig(int numPartitions, int maxTimeoutMs, long transactionalIdExpirationMs,
                                long abortTimedOutIntervalMs, long removeExpiredIntervalMs, long appendTimeoutMs,
                                short serverTransactionVersion) {

    public static TransactionConfig from(BrokerConfig config, short serverTransactionVersion) {
        return new TransactionConfig(config.getInt(BrokerConfig.TRANSACTION_STATE_LOG_NUM_PARTITIONS),
                config.getInt(BrokerConfig.TRANSACTION_MAX_TIMEOUT_MS),
                config.getInt(BrokerConfig.TRANSACTIONAL_ID_EXPIRATION_MS),
                config.getInt(BrokerConfig.TRANSACTION_ABORT_TIMED_OUT_CLEANUP_INTERVAL_MS),
                config.getInt(BrokerConfig.TRANSACTION_REMOVE_EXPIRED_CLEANUP_INTERVAL_MS),
                config.getInt(BrokerConfig.REQUEST_TIMEOUT_MS),
                serverTransactionVersion);
    }
}
