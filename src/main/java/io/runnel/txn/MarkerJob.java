package io.runnel.txn;

import java.util.Set;

import org.apache.kafka.common.TopicPartition;

/**
 * The markers ending one transaction: a COMMIT or ABORT control batch of {@code producerId} at
 * {@code producerEpoch} in each partition, written by its leader with the coordinator's epoch (the leader epoch of
 * the {@code __transaction_state} partition {@code txnPartition}, so that a deposed coordinator's markers are
 * refused).
 */
public record MarkerJob(String transactionalId, int txnPartition, long producerId, short producerEpoch,
                        boolean commit, int coordinatorEpoch, short transactionVersion,
                        Set<TopicPartition> partitions) {

    public MarkerJob {
        partitions = Set.copyOf(partitions);
    }
}
