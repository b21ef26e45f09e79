package io.runnel.txn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;

import io.runnel.cluster.ClusterView;
import io.runnel.cluster.PartitionState;
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
 * coordinator (AddPartitionsToTxn v5 over the inter-broker listener), once per produce request for all such
 * partitions, as Kafka's ReplicaManager does. A transaction-version-2 client (Produce v12+)
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

    /** Whether a partition already has a producer's transaction open at an epoch ({@code PartitionOwner}'s). */
    @FunctionalInterface
    public interface OpenTransactions {
        Future<Boolean> hasOngoingTransaction(long producerId, short epoch);
    }

    private final Channel channel;
    private final ClusterView cluster;
    private final ToIntFunction<String> partitionFor;
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
        this(channel, cluster, coordinator::partitionFor, verifyOlderClients);
    }

    /** @param partitionFor the {@code __transaction_state} partition of a transactional id */
    public TransactionVerifier(Channel channel, ClusterView cluster, ToIntFunction<String> partitionFor,
                               boolean verifyOlderClients) {
        this.channel = channel;
        this.cluster = cluster;
        this.partitionFor = partitionFor;
        this.verifyOlderClients = verifyOlderClients;
    }

    /**
     * Whether the transactional batches of one produce request, all of {@code producerId}/{@code epoch}, may be
     * appended to their partitions; completes with NONE or the produce error of each partition. As Kafka's
     * ReplicaManager.handleProduceAppend, the partitions that need the coordinator (no transaction of the producer
     * open there at this epoch, and for a version-2 client not added already) are sent in ONE AddPartitionsToTxn,
     * and each partition gets its own answer. {@code produceVersion} is the request's version (12+: the client
     * uses transaction version 2, whose partitions the coordinator adds; older ones are only checked).
     */
    public Future<Map<TopicPartition, Errors>> verify(String transactionalId, long producerId, short epoch,
                                                      Map<TopicPartition, OpenTransactions> partitions,
                                                      short produceVersion) {
        boolean add = produceVersion >= 12;
        Map<TopicPartition, Errors> result = new LinkedHashMap<>();
        partitions.keySet().forEach(tp -> result.put(tp, Errors.NONE));
        if (!add && !verifyOlderClients) {
            return Future.succeededFuture(result);
        }
        List<TopicPartition> candidates = new ArrayList<>();
        List<Future<Boolean>> open = new ArrayList<>();
        partitions.forEach((tp, check) -> {
            if (!add || !added.containsKey(new Key(tp, producerId, epoch))) {
                candidates.add(tp);
                open.add(check.hasOngoingTransaction(producerId, epoch));
            }
        });
        if (candidates.isEmpty()) {
            return Future.succeededFuture(result);
        }
        return Future.join(open).transform(x -> {
            Set<TopicPartition> asked = new LinkedHashSet<>();
            for (int i = 0; i < candidates.size(); i++) {
                Future<Boolean> check = open.get(i);
                if (check.failed()) {
                    // not hosted here any more, ...: that partition fails with it, and is not added
                    result.put(candidates.get(i), Errors.forException(check.cause()));
                } else if (!check.result()) {
                    asked.add(candidates.get(i));
                }
            }
            if (asked.isEmpty()) {
                return Future.succeededFuture(result);
            }
            return ask(transactionalId, producerId, epoch, asked, add).map(errors -> {
                errors.forEach((tp, e) -> {
                    Errors produceError = toProduceError(e, produceVersion);
                    if (e != Errors.NONE && LOG.isDebugEnabled()) {
                        LOG.debug("{} {} to the transaction of {} (producer {} epoch {}): {}, answered {}",
                                add ? "Adding" : "Verifying", tp, transactionalId, producerId, epoch, e, produceError);
                    }
                    result.put(tp, produceError);
                });
                return result;
            });
        });
    }

    /**
     * Asks the coordinator to add ({@code add}) or check a partition of the transaction; completes with the
     * coordinator's error for it (TxnOffsetCommit maps it as it needs).
     */
    public Future<Errors> ask(String transactionalId, long producerId, short epoch, TopicPartition tp, boolean add) {
        return ask(transactionalId, producerId, epoch, Set.of(tp), add).map(errors -> errors.get(tp));
    }

    /**
     * Asks the coordinator, in one AddPartitionsToTxn, to add ({@code add}) or check partitions of the transaction;
     * completes with the coordinator's error for each (one error for all when the request as a whole fails).
     */
    public Future<Map<TopicPartition, Errors>> ask(String transactionalId, long producerId, short epoch,
                                                   Set<TopicPartition> tps, boolean add) {
        if (!add && !verifyOlderClients) {
            return Future.succeededFuture(all(tps, Errors.NONE));
        }
        int txnPartition = partitionFor.applyAsInt(transactionalId);
        PartitionState state = cluster.state(new TopicPartition(TransactionStateTopic.NAME, txnPartition));
        if (state == null || state.leader() < 0) {
            return Future.succeededFuture(all(tps, Errors.COORDINATOR_NOT_AVAILABLE));
        }
        Map<String, List<Integer>> byTopic = new LinkedHashMap<>();
        tps.forEach(tp -> byTopic.computeIfAbsent(tp.topic(), t -> new ArrayList<>()).add(tp.partition()));
        AddPartitionsToTxnTopicCollection topics = new AddPartitionsToTxnTopicCollection();
        byTopic.forEach((topic, ps) -> topics.add(new AddPartitionsToTxnTopic().setName(topic).setPartitions(ps)));
        AddPartitionsToTxnRequestData.AddPartitionsToTxnTransactionCollection txns =
                new AddPartitionsToTxnRequestData.AddPartitionsToTxnTransactionCollection();
        txns.add(new AddPartitionsToTxnTransaction().setTransactionalId(transactionalId).setProducerId(producerId)
                .setProducerEpoch(epoch).setVerifyOnly(!add).setTopics(topics));
        return channel.send(state.leader(), ApiKeys.ADD_PARTITIONS_TO_TXN, REQUEST_VERSION,
                new AddPartitionsToTxnRequestData().setTransactions(txns)).map(m -> {
                    AddPartitionsToTxnResponseData r = (AddPartitionsToTxnResponseData) m;
                    if (r.errorCode() != Errors.NONE.code()) {
                        return all(tps, r.errorCode() == Errors.CLUSTER_AUTHORIZATION_FAILED.code()
                                ? Errors.INVALID_TXN_STATE : Errors.forCode(r.errorCode()));
                    }
                    AddPartitionsToTxnResponseData.AddPartitionsToTxnResult result =
                            r.resultsByTransaction().find(transactionalId);
                    if (result == null) {
                        return all(tps, Errors.UNKNOWN_SERVER_ERROR);
                    }
                    Map<TopicPartition, Errors> answered =
                            AddPartitionsToTxnResponse.errorsForTransaction(result.topicResults());
                    Map<TopicPartition, Errors> out = new LinkedHashMap<>();
                    for (TopicPartition tp : tps) {
                        Errors e = answered.getOrDefault(tp, Errors.UNKNOWN_SERVER_ERROR);
                        if (e == Errors.NONE && add) {
                            added.put(new Key(tp, producerId, epoch), Boolean.TRUE);
                        }
                        out.put(tp, e);
                    }
                    return out;
                }).otherwise(t -> all(tps, Errors.NETWORK_EXCEPTION));
    }

    private static Map<TopicPartition, Errors> all(Set<TopicPartition> tps, Errors e) {
        Map<TopicPartition, Errors> out = new LinkedHashMap<>();
        tps.forEach(tp -> out.put(tp, e));
        return out;
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
