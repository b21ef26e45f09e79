package io.runnel.api;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.protocol.RequestContext;
import io.runnel.txn.TransactionCoordinator;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData.AddPartitionsToTxnTopic;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData.AddPartitionsToTxnTransaction;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData.AddPartitionsToTxnResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.AddPartitionsToTxnResponse;
import org.apache.kafka.common.resource.ResourceType;

/**
 * AddPartitionsToTxn, as Kafka's broker answers it. v0-v3 come from clients: WRITE on the transactional id and on
 * each topic (internal topics are never authorized), unknown partitions UNKNOWN_TOPIC_OR_PARTITION, and any such
 * error fails the whole request (the other partitions OPERATION_NOT_ATTEMPTED). v4+ come from partition leaders
 * (CLUSTER_ACTION) and batch transactions: VerifyOnly checks that partitions are in the transaction (KIP-890 part
 * 1); otherwise the leader adds a partition on behalf of a transaction-version-2 client (KIP-890 part 2).
 */
public final class AddPartitionsToTxnHandler implements ApiHandler<AddPartitionsToTxnRequestData> {

    private final TransactionCoordinator coordinator;
    private final TopicManager topics;

    public AddPartitionsToTxnHandler(TransactionCoordinator coordinator, TopicManager topics) {
        this.coordinator = coordinator;
        this.topics = topics;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.ADD_PARTITIONS_TO_TXN;
    }

    @Override
    public Future<AddPartitionsToTxnResponseData> handle(RequestContext ctx, AddPartitionsToTxnRequestData request) {
        short version = ctx.apiVersion();
        if (version < 4) {
            AddPartitionsToTxnTransaction txn = new AddPartitionsToTxnTransaction()
                    .setTransactionalId(request.v3AndBelowTransactionalId())
                    .setProducerId(request.v3AndBelowProducerId())
                    .setProducerEpoch(request.v3AndBelowProducerEpoch())
                    .setTopics(request.v3AndBelowTopics());
            return handleOne(ctx, txn, version).map(result -> new AddPartitionsToTxnResponseData()
                    .setResultsByTopicV3AndBelow(result.topicResults()));
        }
        if (!ctx.clusterAuthorized(AclOperation.CLUSTER_ACTION)) {
            return Future.succeededFuture(new AddPartitionsToTxnResponseData()
                    .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code()));
        }
        List<Future<AddPartitionsToTxnResult>> results = new ArrayList<>();
        for (AddPartitionsToTxnTransaction txn : request.transactions()) {
            results.add(handleOne(ctx, txn, version));
        }
        return Future.all(results).map(all -> {
            AddPartitionsToTxnResponseData out = new AddPartitionsToTxnResponseData();
            for (Future<AddPartitionsToTxnResult> f : results) {
                out.resultsByTransaction().add(f.result());
            }
            return out;
        });
    }

    private Future<AddPartitionsToTxnResult> handleOne(RequestContext ctx, AddPartitionsToTxnTransaction txn,
                                                      short version) {
        String id = txn.transactionalId();
        Set<TopicPartition> asked = new LinkedHashSet<>();
        for (AddPartitionsToTxnTopic t : txn.topics()) {
            for (int p : t.partitions()) {
                asked.add(new TopicPartition(t.name(), p));
            }
        }
        if (id == null) {
            return Future.succeededFuture(result(id, asked, Errors.INVALID_REQUEST));
        }
        if (version < 4 && !ctx.authorized(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, id)) {
            return Future.succeededFuture(result(id, asked, Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
        }
        Map<TopicPartition, Errors> errors = new HashMap<>();
        Set<TopicPartition> ok = new LinkedHashSet<>();
        for (TopicPartition tp : asked) {
            TopicInfo topic = topics.topic(tp.topic());
            if (version < 4 && (Topic.isInternal(tp.topic())
                    || !ctx.authorized(AclOperation.WRITE, ResourceType.TOPIC, tp.topic()))) {
                errors.put(tp, Errors.TOPIC_AUTHORIZATION_FAILED);
            } else if (topic == null || tp.partition() < 0 || tp.partition() >= topic.partitions()) {
                errors.put(tp, Errors.UNKNOWN_TOPIC_OR_PARTITION);
            } else {
                ok.add(tp);
            }
        }
        if (!errors.isEmpty()) {
            ok.forEach(tp -> errors.put(tp, Errors.OPERATION_NOT_ATTEMPTED));
            return Future.succeededFuture(AddPartitionsToTxnResponse.resultForTransaction(id, errors));
        }
        if (version >= 4 && txn.verifyOnly()) {
            return coordinator.verifyPartitions(id, txn.producerId(), txn.producerEpoch(), ok)
                    .map(r -> AddPartitionsToTxnResponse.resultForTransaction(id, r));
        }
        short clientVersion = version >= 4 ? (short) 2 : (short) 0;
        return coordinator.addPartitions(id, txn.producerId(), txn.producerEpoch(), ok, clientVersion)
                .map(e -> result(id, ok, version < 2 && e == Errors.PRODUCER_FENCED ? Errors.INVALID_PRODUCER_EPOCH
                        : e));
    }

    private static AddPartitionsToTxnResult result(String id, Set<TopicPartition> partitions, Errors error) {
        Map<TopicPartition, Errors> errors = new HashMap<>();
        partitions.forEach(tp -> errors.put(tp, error));
        return AddPartitionsToTxnResponse.resultForTransaction(id, errors);
    }
}
