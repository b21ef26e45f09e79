package io.runnel.txn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Kafka's translation of the coordinator's verification answers into produce errors. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class TransactionVerifierTest {

    @Test
    void errorsAsKafkasLeaderReturnsThem() {
        assertThat(TransactionVerifier.toProduceError(Errors.NONE, (short) 12)).isEqualTo(Errors.NONE);
        assertThat(TransactionVerifier.toProduceError(Errors.PRODUCER_FENCED, (short) 12))
                .isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
        assertThat(TransactionVerifier.toProduceError(Errors.TRANSACTION_ABORTABLE, (short) 10))
                .isEqualTo(Errors.INVALID_TXN_STATE);
        assertThat(TransactionVerifier.toProduceError(Errors.TRANSACTION_ABORTABLE, (short) 11))
                .isEqualTo(Errors.TRANSACTION_ABORTABLE);
        for (Errors e : new Errors[] {Errors.CONCURRENT_TRANSACTIONS, Errors.NETWORK_EXCEPTION,
                Errors.COORDINATOR_LOAD_IN_PROGRESS, Errors.COORDINATOR_NOT_AVAILABLE, Errors.NOT_COORDINATOR}) {
            assertThat(TransactionVerifier.toProduceError(e, (short) 12)).as(e.name())
                    .isEqualTo(Errors.NOT_ENOUGH_REPLICAS);
        }
        assertThat(TransactionVerifier.toProduceError(Errors.INVALID_PRODUCER_ID_MAPPING, (short) 12))
                .isEqualTo(Errors.INVALID_PRODUCER_ID_MAPPING);
    }
}
