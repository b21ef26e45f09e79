package io.runnel.api;

import java.util.ArrayList;
import java.util.List;

import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData.TxnOffsetCommitResponsePartition;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData.TxnOffsetCommitResponseTopic;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * TxnOffsetCommit (v0-v5; v6 names topics by id): a transactional producer's
 * {@code sendOffsetsToTransaction}. The offsets are written to the group's {@code __consumer_offsets}
 * partition as a transactional batch of the producer and become the group's committed offsets only when the
 * transaction commits (see {@link GroupCoordinator#onTransactionCompleted}).
 *
 * <p>As Kafka: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), READ on the group
 * (GROUP_AUTHORIZATION_FAILED), then READ on each topic (TOPIC_AUTHORIZATION_FAILED for that topic's
 * partitions only); v0-v1 clients get COORDINATOR_NOT_AVAILABLE instead of COORDINATOR_LOAD_IN_PROGRESS,
 * which they predate. A {@link Verifier} (the transaction coordinator's check that the group's offsets
 * partition is in the producer's transaction, KIP-890) runs before the write.
 */
public final class TxnOffsetCommitHandler implements ApiHandler<TxnOffsetCommitRequestData> {

    /**
     * Checks, before the offsets are written, that the producer's transaction may write to the group's offsets
     * partition; completes with NONE or the error every partition gets (e.g. INVALID_TXN_STATE).
     */
    @FunctionalInterface
    public interface Verifier {
        Verifier NONE = (ctx, request) -> Future.succeededFuture(Errors.NONE);

        Future<Errors> verify(RequestContext ctx, TxnOffsetCommitRequestData request);
    }

    private final GroupCoordinator coordinator;
    private final Verifier verifier;

    public TxnOffsetCommitHandler(GroupCoordinator coordinator) {
        this(coordinator, Verifier.NONE);
    }

    public TxnOffsetCommitHandler(GroupCoordinator coordinator, Verifier verifier) {
        this.coordinator = coordinator;
        this.verifier = verifier;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.TXN_OFFSET_COMMIT;
    }

    @Override
    public short maxVersion() {
        return 5;
    }

    @Override
    public Future<TxnOffsetCommitResponseData> handle(RequestContext ctx, TxnOffsetCommitRequestData request) {
        if (!ctx.authorized(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId())) {
            return Future.failedFuture(new TransactionalIdAuthorizationException(
                    "Not authorized to write transactional id " + request.transactionalId()));
        }
        if (!ctx.authorized(AclOperation.READ, ResourceType.GROUP, request.groupId())) {
            return Future.failedFuture(new GroupAuthorizationException("Not authorized to access group: "
                    + request.groupId()));
        }
        List<TxnOffsetCommitResponseTopic> refused = new ArrayList<>();
        TxnOffsetCommitRequestData allowed = request.duplicate();
        if (ctx.authorizer() != null) {
            allowed.topics().removeIf(t -> {
                if (ctx.authorized(AclOperation.READ, ResourceType.TOPIC, t.name())) {
                    return false;
                }
                refused.add(errorTopic(t, Errors.TOPIC_AUTHORIZATION_FAILED));
                return true;
            });
        }
        if (allowed.topics().isEmpty()) {
            return Future.succeededFuture(new TxnOffsetCommitResponseData().setTopics(refused));
        }
        short version = ctx.apiVersion();
        return verifier.verify(ctx, allowed).compose(verified -> {
            if (verified != Errors.NONE) {
                TxnOffsetCommitResponseData failed = new TxnOffsetCommitResponseData();
                allowed.topics().forEach(t -> failed.topics().add(errorTopic(t, verified)));
                return Future.succeededFuture(failed);
            }
            return coordinator.commitTransactionalOffsets(allowed);
        }).map(r -> {
            r.topics().addAll(refused);
            if (version < 2) {
                r.topics().forEach(t -> t.partitions().forEach(p -> {
                    if (p.errorCode() == Errors.COORDINATOR_LOAD_IN_PROGRESS.code()) {
                        p.setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code());
                    }
                }));
            }
            return r;
        });
    }

    private static TxnOffsetCommitResponseTopic errorTopic(TxnOffsetCommitRequestTopic t, Errors error) {
        TxnOffsetCommitResponseTopic rt = new TxnOffsetCommitResponseTopic().setName(t.name());
        t.partitions().forEach(p -> rt.partitions().add(new TxnOffsetCommitResponsePartition()
                .setPartitionIndex(p.partitionIndex()).setErrorCode(error.code())));
        return rt;
    }
}
