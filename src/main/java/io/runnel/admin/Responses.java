package io.runnel.admin;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes route results and failures; the one place that renders errors. */
final class Responses {

    private static final Logger LOG = LoggerFactory.getLogger(Responses.class);

    private Responses() {
    }

    /** Answers {@code result} (a JsonObject, JsonArray or null for 204) with {@code status}, or its failure. */
    static void reply(RoutingContext ctx, Future<?> result, int status) {
        result.onComplete(ar -> {
            if (ar.failed()) {
                fail(ctx, ar.cause());
            } else {
                json(ctx, status, ar.result());
            }
        });
    }

    /** Runs a route body that may throw (input validation) and answers its future. */
    static void handle(RoutingContext ctx, int status, java.util.function.Supplier<Future<?>> body) {
        Future<?> f;
        try {
            f = body.get();
        } catch (RuntimeException e) {
            f = Future.failedFuture(e);
        }
        reply(ctx, f, status);
    }

    static void json(RoutingContext ctx, int status, Object body) {
        if (ctx.response().ended() || ctx.response().closed()) {
            return;
        }
        if (body == null) {
            ctx.response().setStatusCode(status == 200 ? 204 : status).end();
            return;
        }
        String text = body instanceof JsonObject o ? o.encode() : body instanceof JsonArray a ? a.encode()
                : String.valueOf(body);
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(text);
    }

    static void fail(RoutingContext ctx, Throwable t) {
        HttpError e = HttpError.from(t);
        if (e == null) {
            LOG.error("Admin API {} {} failed", ctx.request().method(), ctx.request().path(), t);
            e = new HttpError(500, "internal_error", String.valueOf(t.getMessage()), null);
        }
        json(ctx, e.status(), e.toJson());
    }
}
