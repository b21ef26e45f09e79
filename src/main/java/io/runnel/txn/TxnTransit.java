package io.runnel.txn;

import java.util.Set;

import org.apache.kafka.common.TopicPartition;

/**
 * What a transactional id becomes once a prepared transition is written to {@code __transaction_state}: the
 * content of one {@code TransactionLogValue} record (Kafka's TxnTransitMetadata). Immutable.
 *
 * @param clientTransactionVersion the transaction version the client uses (0-2): 2 bumps the epoch at every end
 */
public record TxnTransit(long producerId, long prevProducerId, long nextProducerId, short producerEpoch,
                         short lastProducerEpoch, int txnTimeoutMs, TransactionState state,
                         Set<TopicPartition> partitions, long txnStartTimestamp, long txnLastUpdateTimestamp,
                         short clientTransactionVersion) {

    public TxnTransit {
        partitions = Set.copyOf(partitions);
    }

    boolean epochBumpEveryEnd() {
        return clientTransactionVersion >= 2;
    }
}
