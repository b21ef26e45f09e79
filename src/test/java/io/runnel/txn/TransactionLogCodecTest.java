package io.runnel.txn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.coordinator.transaction.generated.TransactionLogKey;
import org.apache.kafka.coordinator.transaction.generated.TransactionLogValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The __transaction_state records, byte for byte against Kafka's own generated message classes. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TransactionLogCodecTest {

    private static TxnTransit ongoing(short clientVersion) {
        return new TxnTransit(4000L, 3999L, -1L, (short) 7, (short) 6, 60_000, TransactionState.ONGOING,
                Set.of(new TopicPartition("orders", 0), new TopicPartition("orders", 3),
                        new TopicPartition("__consumer_offsets", 12)), 1_700_000_000_000L, 1_700_000_001_000L,
                clientVersion);
    }

    @Test
    void keyIsKafkasVersionZeroKey() {
        byte[] ours = TransactionLogCodec.key("my-txn-ü");
        byte[] kafkas = MessageUtil.toVersionPrefixedBytes((short) 0,
                new TransactionLogKey().setTransactionalId("my-txn-ü"));
        assertThat(ours).isEqualTo(kafkas);
    }

    @Test
    void kafkaReadsOurValuesOfBothVersions() {
        for (short version : new short[] {0, 1}) {
            TxnTransit t = ongoing((short) 2);
            ByteBuffer buf = ByteBuffer.wrap(TransactionLogCodec.value(t, version));
            assertThat(buf.getShort()).isEqualTo(version);
            TransactionLogValue v = new TransactionLogValue(new ByteBufferAccessor(buf), version);
            assertThat(buf.remaining()).isZero();
            assertThat(v.producerId()).isEqualTo(4000L);
            assertThat(v.producerEpoch()).isEqualTo((short) 7);
            assertThat(v.transactionTimeoutMs()).isEqualTo(60_000);
            assertThat(v.transactionStatus()).isEqualTo((byte) 1);
            assertThat(v.transactionStartTimestampMs()).isEqualTo(1_700_000_000_000L);
            assertThat(v.transactionLastUpdateTimestampMs()).isEqualTo(1_700_000_001_000L);
            List<TopicPartition> parts = new ArrayList<>();
            v.transactionPartitions().forEach(s -> s.partitionIds().forEach(p -> parts.add(new TopicPartition(
                    s.topic(), p))));
            assertThat(parts).containsExactlyInAnyOrderElementsOf(t.partitions());
            if (version == 1) {
                assertThat(v.previousProducerId()).isEqualTo(3999L);
                assertThat(v.nextProducerId()).isEqualTo(-1L);
                assertThat(v.clientTransactionVersion()).isEqualTo((short) 2);
            }
        }
    }

    @Test
    void weReadKafkasValuesAndEmptyHasNoPartitions() {
        TransactionLogValue v = new TransactionLogValue().setProducerId(12).setProducerEpoch((short) 3)
                .setTransactionTimeoutMs(1000).setTransactionStatus((byte) 0).setTransactionPartitions(null)
                .setTransactionLastUpdateTimestampMs(55).setTransactionStartTimestampMs(-1)
                .setPreviousProducerId(11).setNextProducerId(13).setClientTransactionVersion((short) 2);
        for (short version : new short[] {0, 1}) {
            byte[] kafkas = MessageUtil.toVersionPrefixedBytes(version, version == 1 ? v : v.duplicate()
                    .setPreviousProducerId(-1).setNextProducerId(-1).setClientTransactionVersion((short) 0));
            TransactionLogCodec.Entry e = TransactionLogCodec.decode(ByteBuffer.wrap(TransactionLogCodec.key("t")),
                    ByteBuffer.wrap(kafkas));
            assertThat(e.transactionalId()).isEqualTo("t");
            TxnTransit t = e.value();
            assertThat(t.producerId()).isEqualTo(12);
            assertThat(t.producerEpoch()).isEqualTo((short) 3);
            assertThat(t.state()).isEqualTo(TransactionState.EMPTY);
            assertThat(t.partitions()).isEmpty();
            assertThat(t.txnLastUpdateTimestamp()).isEqualTo(55);
            assertThat(t.txnStartTimestamp()).isEqualTo(-1);
            assertThat(t.prevProducerId()).isEqualTo(version == 1 ? 11 : -1);
            assertThat(t.clientTransactionVersion()).isEqualTo(version == 1 ? (short) 2 : (short) 0);
            // and what we write for it is what Kafka writes
            if (version == 1) {
                assertThat(TransactionLogCodec.value(t, version)).isEqualTo(kafkas);
            }
        }
        // an Empty state is written with null partitions, as Kafka writes it
        byte[] ours = TransactionLogCodec.value(new TxnTransit(12, 11, 13, (short) 3, (short) -1, 1000,
                TransactionState.EMPTY, Set.of(), -1, 55, (short) 2), (short) 1);
        assertThat(ours).isEqualTo(MessageUtil.toVersionPrefixedBytes((short) 1, v));
    }

    @Test
    void roundTripAndTombstoneAndBadRecords() {
        TxnTransit t = ongoing((short) 0);
        TransactionLogCodec.Entry e = TransactionLogCodec.decode(ByteBuffer.wrap(TransactionLogCodec.key("x")),
                ByteBuffer.wrap(TransactionLogCodec.value(t)));
        assertThat(e.value().partitions()).isEqualTo(t.partitions());
        assertThat(e.value().state()).isEqualTo(TransactionState.ONGOING);
        assertThat(TransactionLogCodec.decode(ByteBuffer.wrap(TransactionLogCodec.key("x")), null).value())
                .isNull();
        // a key of another version (a group record's, say) is skipped, as Kafka skips unknown keys
        assertThat(TransactionLogCodec.decode(ByteBuffer.wrap(new byte[] {0, 5, 0, 0}), null)).isNull();
        byte[] truncated = TransactionLogCodec.value(t);
        assertThatThrownBy(() -> TransactionLogCodec.decode(ByteBuffer.wrap(TransactionLogCodec.key("x")),
                ByteBuffer.wrap(truncated, 0, 20).slice())).isInstanceOf(IllegalArgumentException.class);
    }
}
