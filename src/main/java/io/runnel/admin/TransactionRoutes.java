package io.runnel.admin;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.runnel.txn.TransactionCoordinator;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.DescribeTransactionsResponseData;
import org.apache.kafka.common.message.ListTransactionsResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * {@code /api/v1/transactions...}: the transactions this node coordinates (the transactional ids whose
 * {@code __transaction_state} partition it leads), read-only, from the coordinator's own ListTransactions and
 * DescribeTransactions answers, so they show what {@code kafka-transactions.sh list/describe} shows. Open ones
 * ({@code ?state=Ongoing,PrepareCommit,PrepareAbort}, the console's filter) are what hold a partition's last
 * stable offset back. Like the group routes, each node answers for its own coordinators; a transactional id
 * coordinated elsewhere gets 404 with {@code not_coordinator}.
 */
final class TransactionRoutes {

    private final TransactionCoordinator coordinator;

    TransactionRoutes(TransactionCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    void mount(Router api) {
        api.get("/transactions").handler(this::list);
        api.get("/transactions/:id").handler(this::describe);
    }

    private void list(RoutingContext ctx) {
        AdminAccess access = AdminAccess.of(ctx);
        List<String> states = new ArrayList<>();
        for (String s : ctx.queryParam("state")) {
            for (String one : s.split(",")) {
                if (!one.isBlank()) {
                    states.add(one.trim());
                }
            }
        }
        Future<JsonArray> out = coordinator.list(states, Set.of(), -1, null,
                id -> access.allowed(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id)).compose(r -> {
                    if (r.errorCode() != Errors.NONE.code()) {
                        return Future.failedFuture(Errors.forCode(r.errorCode()).exception());
                    }
                    if (!r.unknownStateFilters().isEmpty()) {
                        return Future.failedFuture(new IllegalArgumentException("unknown state " + r.unknownStateFilters()
                                + "; the states are Kafka's: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit,"
                                + " CompleteAbort, PrepareEpochFence"));
                    }
                    List<Future<JsonObject>> all = new ArrayList<>();
                    for (ListTransactionsResponseData.TransactionState t : r.transactionStates()) {
                        all.add(coordinator.describe(t.transactionalId()).map(this::toJson));
                    }
                    return Future.join(all).map(cf -> {
                        JsonArray arr = new JsonArray();
                        // an id that moved or expired between the list and its description is left out
                        all.stream().filter(Future::succeeded).map(Future::result).filter(j -> j != null).forEach(arr::add);
                        return arr;
                    });
                });
        out.onComplete(ar -> {
            if (ar.failed() && ar.cause() instanceof IllegalArgumentException e) {
                Responses.json(ctx, 400, HttpError.badField("state", e.getMessage()).toJson());
            } else {
                Responses.reply(ctx, ar.failed() ? Future.failedFuture(ar.cause()) : Future.succeededFuture(ar.result()), 200);
            }
        });
    }

    private void describe(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        if (!AdminAccess.require(ctx, AdminAccess.of(ctx).allowed(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id),
                AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id)) {
            return;
        }
        coordinator.describe(id).onComplete(ar -> {
            if (ar.failed()) {
                Responses.fail(ctx, ar.cause());
                return;
            }
            Errors e = Errors.forCode(ar.result().errorCode());
            if (e == Errors.TRANSACTIONAL_ID_NOT_FOUND) {
                Responses.json(ctx, 404, HttpError.notFound("transactional_id_not_found",
                        "no transactional id " + id + " on this node's coordinators").toJson());
            } else if (e == Errors.NOT_COORDINATOR) {
                Responses.json(ctx, 404, HttpError.notFound("not_coordinator",
                        "transactional id " + id + " is coordinated by another node").toJson());
            } else if (e != Errors.NONE) {
                Responses.fail(ctx, e.exception());
            } else {
                Responses.json(ctx, 200, toJson(ar.result()));
            }
        });
    }

    /** One transaction as the console shows it; null when the id has no state here (any more). */
    private JsonObject toJson(DescribeTransactionsResponseData.TransactionState t) {
        if (t.errorCode() != Errors.NONE.code()) {
            return null;
        }
        JsonArray partitions = new JsonArray();
        for (DescribeTransactionsResponseData.TopicData td : t.topics()) {
            for (int p : td.partitions()) {
                partitions.add(new JsonObject().put("topic", td.topic()).put("partition", p));
            }
        }
        long start = t.transactionStartTimeMs();
        return new JsonObject().put("transactionalId", t.transactionalId()).put("state", t.transactionState())
                .put("producerId", t.producerId()).put("producerEpoch", t.producerEpoch())
                .put("timeoutMs", t.transactionTimeoutMs())
                .put("startTimeMs", start < 0 ? null : start)
                .put("durationMs", start < 0 ? null : Math.max(0, System.currentTimeMillis() - start))
                .put("partitions", partitions);
    }
}
