package io.runnel.txn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.BrokerEndpoint;
import io.runnel.cluster.ClusterView;
import io.runnel.cluster.PartitionState;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;

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

    private static final TopicPartition P0 = new TopicPartition("t", 0);
    private static final TopicPartition P1 = new TopicPartition("t", 1);
    private static final TopicPartition Q0 = new TopicPartition("u", 0);

    private static ClusterView coordinatorAt(int broker) {
        return new ClusterView() {
            @Override
            public int controllerId() {
                return -1;
            }

            @Override
            public PartitionState state(TopicPartition tp) {
                return broker < 0 ? null : new PartitionState(broker, 0, List.of(broker), List.of(broker), 0);
            }

            @Override
            public BrokerEndpoint endpoint(int nodeId) {
                return null;
            }

            @Override
            public Collection<BrokerEndpoint> liveBrokers() {
                return List.of();
            }
        };
    }

    private static Map<TopicPartition, TransactionVerifier.OpenTransactions> partitions(TopicPartition open,
                                                                                        TopicPartition... closed) {
        Map<TopicPartition, TransactionVerifier.OpenTransactions> out = new LinkedHashMap<>();
        out.put(open, (pid, epoch) -> Future.succeededFuture(true));
        for (TopicPartition tp : closed) {
            out.put(tp, (pid, epoch) -> Future.succeededFuture(false));
        }
        return out;
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void oneRequestForThePartitionsWithoutAnOpenTransactionAndAnErrorForEachWhenItFails() throws Exception {
        List<AddPartitionsToTxnRequestData> sent = new ArrayList<>();
        TransactionVerifier verifier = new TransactionVerifier((broker, key, version, request) -> {
            assertThat(key).isEqualTo(ApiKeys.ADD_PARTITIONS_TO_TXN);
            sent.add((AddPartitionsToTxnRequestData) request);
            return Future.<ApiMessage>failedFuture(new java.io.IOException("connection closed"));
        }, coordinatorAt(3), id -> 0, true);

        Map<TopicPartition, Errors> result = await(verifier.verify("tx", 5L, (short) 1, partitions(P0, P1, Q0),
                (short) 12));

        assertThat(sent).hasSize(1);
        AddPartitionsToTxnRequestData.AddPartitionsToTxnTransaction t = sent.get(0).transactions().iterator().next();
        assertThat(t.topics().find("t").partitions()).containsExactly(1);
        assertThat(t.topics().find("u").partitions()).containsExactly(0);
        assertThat(result).containsEntry(P0, Errors.NONE).containsEntry(P1, Errors.NOT_ENOUGH_REPLICAS)
                .containsEntry(Q0, Errors.NOT_ENOUGH_REPLICAS);
        // nothing was added: the retry asks again
        assertThat(verifier.knownAdded(P1, 5L, (short) 1)).isFalse();
    }

    @Test
    void requestLevelErrorAnswersEveryPartitionAndNoCoordinatorNeedsNoRequest() throws Exception {
        TransactionVerifier refused = new TransactionVerifier((broker, key, version, request) ->
                Future.succeededFuture(new AddPartitionsToTxnResponseData()
                        .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code())), coordinatorAt(3), id -> 0, true);
        assertThat(await(refused.verify("tx", 5L, (short) 1, partitions(P0, P1, Q0), (short) 10)))
                .containsEntry(P0, Errors.NONE).containsEntry(P1, Errors.INVALID_TXN_STATE)
                .containsEntry(Q0, Errors.INVALID_TXN_STATE);

        TransactionVerifier noCoordinator = new TransactionVerifier((broker, key, version, request) -> {
            throw new AssertionError("no coordinator to send to");
        }, coordinatorAt(-1), id -> 0, true);
        assertThat(await(noCoordinator.verify("tx", 5L, (short) 1, partitions(P0, P1), (short) 12)))
                .containsEntry(P1, Errors.NOT_ENOUGH_REPLICAS);

        // an older client with transaction.partition.verification.enable=false is not checked at all
        TransactionVerifier off = new TransactionVerifier((broker, key, version, request) -> {
            throw new AssertionError("verification is off");
        }, coordinatorAt(3), id -> 0, false);
        assertThat(await(off.verify("tx", 5L, (short) 1, partitions(P0, P1), (short) 10)).values())
                .containsOnly(Errors.NONE);
    }
}
