package io.runnel.api;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.log.AppendOrigin;
import io.runnel.log.LogAppendResult;
import io.runnel.log.LogBatch;
import io.runnel.log.RecordSet;
import io.runnel.metrics.BrokerMetrics;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.ProduceOrder;
import io.runnel.protocol.RequestContext;
import io.runnel.protocol.WireRecords;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.InvalidPidMappingException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.message.ProduceResponseData.PartitionProduceResponse;
import org.apache.kafka.common.message.ProduceResponseData.TopicProduceResponse;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * Produce v3 and up (listed from v0: librdkafka enables compression only when v0 is advertised; older
 * requests cannot be parsed and close the connection). Each partition's batch goes to its owner; a bad
 * batch fails that partition only, with Kafka's error code.
 */
public final class ProduceHandler implements ApiHandler<ProduceRequestData> {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ProduceHandler.class);

    private final TopicManager topics;
    private final PartitionManager partitions;
    private final BrokerMetrics metrics;

    public ProduceHandler(TopicManager topics, PartitionManager partitions) {
        this(topics, partitions, BrokerMetrics.noop());
    }

    public ProduceHandler(TopicManager topics, PartitionManager partitions, BrokerMetrics metrics) {
        this(topics, partitions, metrics, null);
    }

    /**
     * @param verifier asks the transaction coordinator before a transactional batch opens a transaction in a
     *                 partition (KIP-890); null: no check
     */
    public ProduceHandler(TopicManager topics, PartitionManager partitions, BrokerMetrics metrics,
                          io.runnel.txn.TransactionVerifier verifier) {
        this.topics = topics;
        this.partitions = partitions;
        this.metrics = metrics;
        this.verifier = verifier;
    }

    private final io.runnel.txn.TransactionVerifier verifier;

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.PRODUCE;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    /** A partition's batch that passed the request's checks and is to be appended by its owner. */
    private record Target(int slot, int index, TopicPartition tp, PartitionOwner owner, RecordSet records,
                          LogBatch batch, BrokerMetrics.TopicMeters meters) {
    }

    @Override
    public Future<ProduceResponseData> handle(RequestContext ctx, ProduceRequestData request) {
        short acks = request.acks();
        boolean validAcks = acks == 0 || acks == 1 || acks == -1;
        List<Future<PartitionProduceResponse>> pending = new ArrayList<>();
        List<TopicProduceResponse> targets = new ArrayList<>();
        List<Target> appends = new ArrayList<>();
        ProduceResponseData response = new ProduceResponseData();
        for (ProduceRequestData.TopicProduceData td : request.topicData()) {
            TopicProduceResponse tr = new TopicProduceResponse().setName(td.name()).setTopicId(td.topicId());
            response.responses().add(tr);
            TopicInfo topic = td.name() != null && !td.name().isEmpty() ? topics.topic(td.name())
                    : topics.topic(td.topicId());
            Errors topicError = Errors.NONE;
            if (!validAcks) {
                topicError = Errors.INVALID_REQUIRED_ACKS;
            } else if (request.transactionalId() != null && !ctx.authorized(AclOperation.WRITE,
                    ResourceType.TRANSACTIONAL_ID, request.transactionalId())) {
                topicError = Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
            } else if ((topic != null || td.name() != null && !td.name().isEmpty()) && !ctx.authorized(
                    AclOperation.WRITE, ResourceType.TOPIC, topic != null ? topic.name() : td.name())) {
                // as Kafka: authorization comes before existence, so an unauthorized client learns nothing
                topicError = Errors.TOPIC_AUTHORIZATION_FAILED;
            } else if (topic == null) {
                topicError = unknownTopicError(td);
            } else if (Topic.isInternal(topic.name())) {
                // as Kafka: only the broker itself writes its internal topics
                topicError = Errors.INVALID_TOPIC_EXCEPTION;
            }
            BrokerMetrics.TopicMeters meters = topic == null ? null : metrics.topic(topic.name());
            for (ProduceRequestData.PartitionProduceData pd : td.partitionData()) {
                targets.add(tr);
                if (topicError != Errors.NONE) {
                    pending.add(Future.succeededFuture(failed(pd.index(), topicError, null)));
                    continue;
                }
                TopicPartition tp = new TopicPartition(topic.name(), pd.index());
                PartitionOwner owner = partitions.get(tp);
                if (owner == null) {
                    Errors e = pd.index() >= 0 && pd.index() < topic.partitions() ? partitions.notHostedError(tp)
                            : Errors.UNKNOWN_TOPIC_OR_PARTITION;
                    pending.add(Future.succeededFuture(failed(pd.index(), e, null)));
                    continue;
                }
                try {
                    RecordSet records = validateShape(pd);
                    appends.add(new Target(pending.size(), pd.index(), tp, owner, records,
                            records.batches().iterator().next(), meters));
                    pending.add(null); // filled in below, once the request's transaction is verified
                } catch (ApiException e) {
                    pending.add(Future.succeededFuture(failed(pd.index(), Errors.forException(e), e)));
                }
            }
        }
        // as Kafka's ReplicaManager.handleProduceAppend: one producer's transactional batches per request; the
        // partitions where its transaction is not open yet are verified with the coordinator in ONE request
        long producerId = -1L;
        short producerEpoch = -1;
        Map<TopicPartition, io.runnel.txn.TransactionVerifier.OpenTransactions> toVerify = new LinkedHashMap<>();
        for (Target t : appends) {
            if (!t.batch().hasProducerId() || !t.batch().isTransactional()) {
                continue;
            }
            if (!toVerify.isEmpty() && (t.batch().producerId() != producerId
                    || t.batch().producerEpoch() != producerEpoch)) {
                InvalidPidMappingException e = new InvalidPidMappingException(
                        "Transactional records contained more than one producer ID");
                // Kafka fails the whole request with it
                for (int i = 0; i < pending.size(); i++) {
                    pending.set(i, Future.succeededFuture(failed(pending.get(i) == null ? indexOf(appends, i)
                            : pending.get(i).result().index(), Errors.INVALID_PRODUCER_ID_MAPPING, e)));
                }
                return respond(acks, response, targets, pending);
            }
            producerId = t.batch().producerId();
            producerEpoch = t.batch().producerEpoch();
            toVerify.put(t.tp(), t.owner()::hasOngoingTransaction);
        }
        boolean verifying = verifier != null && request.transactionalId() != null && !toVerify.isEmpty();
        Future<Map<TopicPartition, Errors>> verified = verifying
                ? verifier.verify(request.transactionalId(), producerId, producerEpoch, toVerify, ctx.apiVersion())
                : Future.succeededFuture(Map.of());
        // 2: this leader adds the partitions of a version-2 client's transaction (KIP-890 part 2)
        short txnVersion = verifying && ctx.apiVersion() >= 12 ? (short) 2 : (short) 0;
        // the batches go to their owners in the order the connection's requests came in (ProduceOrder): at once,
        // unless this request waits for the coordinator or is behind one that does
        ProduceOrder order = ctx.produceOrder();
        if (order.idle() && verified.isComplete()) {
            for (Target t : appends) {
                pending.set(t.slot(), append(t, verified, acks, request.timeoutMs(), txnVersion));
            }
        } else {
            List<Promise<PartitionProduceResponse>> promises = new ArrayList<>(appends.size());
            for (Target t : appends) {
                Promise<PartitionProduceResponse> p = Promise.promise();
                promises.add(p);
                pending.set(t.slot(), p.future());
            }
            order.handOver(verified, () -> {
                for (int i = 0; i < appends.size(); i++) {
                    append(appends.get(i), verified, acks, request.timeoutMs(), txnVersion).onComplete(promises.get(i));
                }
            });
        }
        return respond(acks, response, targets, pending);
    }

    /** Hands one partition's batch to its owner, or fails it with the coordinator's answer; never fails itself. */
    private static Future<PartitionProduceResponse> append(Target t, Future<Map<TopicPartition, Errors>> verified,
                                                           short acks, int timeoutMs, short txnVersion) {
        return verified.compose(errors -> {
            Errors e = errors.getOrDefault(t.tp(), Errors.NONE);
            return e == Errors.NONE
                    ? t.owner().append(t.records(), acks, timeoutMs, AppendOrigin.CLIENT, txnVersion)
                    : Future.<LogAppendResult>failedFuture(verificationError(e));
        }).map(r -> {
            t.meters().bytesIn().increment(r.sizeInBytes());
            t.meters().recordsIn().increment(r.recordCount());
            return succeeded(t.index(), r);
        }).otherwise(x -> failed(t.index(), Errors.forException(x), x));
    }

    private static int indexOf(List<Target> appends, int slot) {
        for (Target t : appends) {
            if (t.slot() == slot) {
                return t.index();
            }
        }
        throw new IllegalStateException("no partition at slot " + slot);
    }

    /** The produce error of a partition whose transaction the coordinator did not confirm, with Kafka's message. */
    private static ApiException verificationError(Errors e) {
        return switch (e) {
            case INVALID_TXN_STATE -> e.exception("Partition was not added to the transaction");
            case NOT_ENOUGH_REPLICAS -> e.exception("Unable to verify the partition has been added to the transaction");
            default -> e.exception();
        };
    }

    /** Assembles the response once every partition's future is done, in request order. */
    private Future<ProduceResponseData> respond(short acks, ProduceResponseData response,
                                                List<TopicProduceResponse> targets,
                                                List<Future<PartitionProduceResponse>> pending) {
        // futures complete on the owners' threads; the response is assembled once, in request order
        return Future.all(pending).transform(ar -> {
            for (int i = 0; i < pending.size(); i++) {
                PartitionProduceResponse pr = pending.get(i).result();
                targets.get(i).partitionResponses().add(pr);
                if (pr.errorCode() != Errors.NONE.code()) {
                    metrics.produceError(pr.errorCode());
                }
            }
            if (acks == 0) {
                for (TopicProduceResponse tr : response.responses()) {
                    for (PartitionProduceResponse pr : tr.partitionResponses()) {
                        if (pr.errorCode() != Errors.NONE.code()) {
                            return Future.failedFuture(Errors.forCode(pr.errorCode()).exception(pr.errorMessage()));
                        }
                    }
                }
                return Future.succeededFuture(null);
            }
            return Future.succeededFuture(response);
        });
    }

    private static Errors unknownTopicError(ProduceRequestData.TopicProduceData td) {
        if (td.name() == null || td.name().isEmpty()) {
            return Errors.UNKNOWN_TOPIC_ID;
        }
        try {
            Topic.validate(td.name());
        } catch (InvalidTopicException e) {
            return Errors.INVALID_TOPIC_EXCEPTION;
        }
        return Errors.UNKNOWN_TOPIC_OR_PARTITION;
    }

    /** Kafka's request-level checks for v3+: exactly one batch, magic v2. */
    private static RecordSet validateShape(ProduceRequestData.PartitionProduceData pd) {
        RecordSet records = WireRecords.toRecordSet(pd.records());
        if (records == null || records.sizeInBytes() == 0) {
            throw new InvalidRecordException("Produce request carries no record batch");
        }
        Iterator<LogBatch> it;
        try {
            it = records.batches().iterator();
            if (!it.hasNext()) {
                throw new CorruptRecordException("Produce request holds a truncated record batch");
            }
            LogBatch batch = it.next();
            if (batch.magic() != LogBatch.MAGIC_V2) {
                throw new InvalidRecordException("Produce requests with version 3 and up only allow record batches with magic v2");
            }
            if (it.hasNext()) {
                throw new InvalidRecordException("Produce requests with version 3 and up are only allowed to contain exactly one record batch");
            }
        } catch (ApiException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CorruptRecordException("Malformed record batch: " + e.getMessage());
        }
        return records;
    }

    private static PartitionProduceResponse succeeded(int index, LogAppendResult r) {
        return new PartitionProduceResponse().setIndex(index).setErrorCode(Errors.NONE.code())
                .setBaseOffset(r.firstOffset()).setLogAppendTimeMs(r.logAppendTime())
                .setLogStartOffset(r.logStartOffset());
    }

    private static PartitionProduceResponse failed(int index, Errors error, Throwable cause) {
        if (error == Errors.UNKNOWN_SERVER_ERROR) {
            LOG.error("Unexpected error appending to partition {}", index, cause);
        }
        String message = cause == null ? null : cause.getMessage();
        return new PartitionProduceResponse().setIndex(index).setErrorCode(error.code()).setBaseOffset(-1)
                .setLogAppendTimeMs(-1).setLogStartOffset(-1).setErrorMessage(message);
    }
}
