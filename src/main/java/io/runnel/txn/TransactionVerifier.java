package io.runnel.txn;

import java.util.LinkedHashMap;
import java.util.Map;

import io.runnel.cluster.ClusterView;
import io.runnel.cluster.PartitionState;
import io.runnel.log.PartitionLog;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData.AddPartitionsToTxnTopic;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData.AddPartitionsToTxnTopicCollection;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData.AddPartitionsToTxnTransaction;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.AddPartitionsToTxnResponse;

/**
 * The partition leader's side of KIP-890 (Kafka's AddPartitionsToTxnManager): before a transactional batch is
 * appended to a partition where its producer has no transaction open yet, the leader asks the transaction's
 * coordinator (AddPartitionsToTxn v5 over the inter-broker listener). A transaction-version-2 client (Produce v12+)
 * never adds partitions itself, so the leader adds the partition on its behalf; an older client's partition must
 * already be in the transaction (part 1: a late batch of an aborted transaction is refused instead of opening a
 * transaction nobody will end). TxnOffsetCommit v5 asks the same for the group's offsets partition.
 *
 * <p>Errors as Kafka's leader turns them into produce errors: PRODUCER_FENCED becomes INVALID_PRODUCER_EPOCH,
 * TRANSACTION_ABORTABLE becomes INVALID_TXN_STATE for clients older than Produce v11, and retriable coordinator
 * errors (CONCURRENT_TRANSACTIONS, COORDINATOR_*, NOT_COORDINATOR, a failed request) NOT_ENOUGH_REPLICAS, which
 * every client retries without refreshing its metadata.
 *
 * <p>Threading: any thread; futures complete on any thread.
 */
public final class TransactionVerifier {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TransactionVerifier.class);

    /** Sends a request to a broker (the {@link InterBrokerClient}). */
    public interface Channel {
        Future<org.apache.kafka.common.protocol.ApiMessage> send(int brokerId, ApiKeys key, short version,
                                                                 org.apache.kafka.common.protocol.ApiMessage request);
    }

    private static final short REQUEST_VERSION = 5;
    private static final int CACHE_LIMIT = 100_000;

    private final Channel channel;
    private final ClusterView cluster;
    private final TransactionCoordinator coordinator;
    /**
     * Partitions added for a transaction-version-2 producer at an epoch: that epoch ends with its transaction, so
     * an entry never outlives the transaction it was added to.
     */
    private final Map<Key, Boolean> added = java.util.Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Key, Boolean> eldest) {
                    return size() > CACHE_LIMIT;
                }
            });

    private record Key(TopicPartition tp, long producerId, short epoch) {
    }

    private final boolean verifyOlderClients;

    /**
     * @param verifyOlderClients {@code transaction.partition.verification.enable}: whether transaction-version-1
     *                           clients' partitions are checked (version-2 clients' are always added)
     */
    public TransactionVerifier(Channel channel, ClusterView cluster, TransactionCoordinator coordinator,
                               boolean verifyOlderClients) {
        this.channel = channel;
        this.cluster = cluster;
        this.coordinator = coordinator;
        this.verifyOlderClients = verifyOlderClients;
    }

    /**
     * Whether a transactional batch of {@code producerId}/{@code epoch} may be appended to {@code owner}'s
     * partition; completes with NONE or the produce error. {@code produceVersion} is the request's version (12+:
     * the client uses transaction version 2).
     */
    public Future<Errors> verify(String transactionalId, long producerId, short epoch, PartitionOwner owner,
                                 short produceVersion) {
        TopicPartition tp = owner.topicPartition();
        boolean add = produceVersion >= 12;
        if (!add && !verifyOlderClients) {
            return Future.succeededFuture(Errors.NONE);
        }
        if (add && added.containsKey(new Key(tp, producerId, epoch))) {
            return Future.succeededFuture(Errors.NONE);
        }
        return owner.activeProducers().compose(producers -> {
            for (PartitionLog.ProducerStateView p : producers) {
                if (p.producerId() == producerId && p.producerEpoch() == epoch && p.currentTxnStartOffset() >= 0) {
                    return Future.succeededFuture(Errors.NONE); // its transaction is open here already
                }
            }
            return ask(transactionalId, producerId, epoch, tp, add).map(e -> {
                if (e != Errors.NONE && LOG.isDebugEnabled()) {
                    LOG.debug("{} {} to the transaction of {} (producer {} epoch {}): {}, answered {}",
                            add ? "Adding" : "Verifying", tp, transactionalId, producerId, epoch, e,
                            toProduceError(e, produceVersion));
                }
                return toProduceError(e, produceVersion);
            });
        });
    }

    /**
     * Asks the coordinator to add ({@code add}) or check a partition of the transaction; completes with the
     * coordinator's error for it (TxnOffsetCommit maps it as it needs).
     */
    public Future<Errors> ask(String transactionalId, long producerId, short epoch, TopicPartition tp, boolean add) {
        if (!add && !verifyOlderClients) {
            return Future.succeededFuture(Errors.NONE);
        }
        int txnPartition = coordinator.partitionFor(transactionalId);
        PartitionState state = cluster.state(new TopicPartition(TransactionStateTopic.NAME, txnPartition));
        if (state == null || state.leader() < 0) {
            return Future.succeededFuture(Errors.COORDINATOR_NOT_AVAILABLE);
        }
        AddPartitionsToTxnTopicCollection topics = new AddPartitionsToTxnTopicCollection();
        topics.add(new AddPartitionsToTxnTopic().setName(tp.topic()).setPartitions(java.util.List.of(tp.partition())));
        AddPartitionsToTxnRequestData.AddPartitionsToTxnTransactionCollection txns =
                new AddPartitionsToTxnRequestData.AddPartitionsToTxnTransactionCollection();
        txns.add(new AddPartitionsToTxnTransaction().setTransactionalId(transactionalId).setProducerId(producerId)
                .setProducerEpoch(epoch).setVerifyOnly(!add).setTopics(topics));
        return channel.send(state.leader(), ApiKeys.ADD_PARTITIONS_TO_TXN, REQUEST_VERSION,
                new AddPartitionsToTxnRequestData().setTransactions(txns)).map(m -> {
                    AddPartitionsToTxnResponseData r = (AddPartitionsToTxnResponseData) m;
                    if (r.errorCode() != Errors.NONE.code()) {
                        return r.errorCode() == Errors.CLUSTER_AUTHORIZATION_FAILED.code() ? Errors.INVALID_TXN_STATE
                                : Errors.forCode(r.errorCode());
                    }
                    AddPartitionsToTxnResponseData.AddPartitionsToTxnResult result =
                            r.resultsByTransaction().find(transactionalId);
                    if (result == null) {
                        return Errors.UNKNOWN_SERVER_ERROR;
                    }
                    Errors e = AddPartitionsToTxnResponse.errorsForTransaction(result.topicResults())
                            .getOrDefault(tp, Errors.UNKNOWN_SERVER_ERROR);
                    if (e == Errors.NONE && add) {
                        added.put(new Key(tp, producerId, epoch), Boolean.TRUE);
                    }
                    return e;
                }).otherwise(Errors.NETWORK_EXCEPTION);
    }

    /** Kafka's translation of a coordinator's answer into the error of a produced partition. */
    static Errors toProduceError(Errors e, short produceVersion) {
        return switch (e) {
            case NONE -> Errors.NONE;
            case PRODUCER_FENCED -> Errors.INVALID_PRODUCER_EPOCH;
            case TRANSACTION_ABORTABLE -> produceVersion < 11 ? Errors.INVALID_TXN_STATE : e;
            case CONCURRENT_TRANSACTIONS, NETWORK_EXCEPTION, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE,
                 NOT_COORDINATOR -> Errors.NOT_ENOUGH_REPLICAS;
            default -> e;
        };
    }

    /**
     * Kafka's translation for TxnOffsetCommit (its group coordinator normalizes the leader's produce errors):
     * retriable coordinator errors become COORDINATOR_NOT_AVAILABLE, which the producer retries after looking up
     * the group coordinator again; TRANSACTION_ABORTABLE is known from v4.
     */
    public static Errors toTxnOffsetCommitError(Errors e, short version) {
        Errors produce = toProduceError(e, version >= 4 ? (short) 11 : (short) 10);
        return produce == Errors.NOT_ENOUGH_REPLICAS ? Errors.COORDINATOR_NOT_AVAILABLE : produce;
    }

    /** For tests: whether a partition is known added for the producer's epoch. */
    boolean knownAdded(TopicPartition tp, long producerId, short epoch) {
        return added.containsKey(new Key(tp, producerId, epoch));
    }
}
