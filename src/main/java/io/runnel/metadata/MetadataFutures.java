package io.runnel.metadata;

import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/** Turns the quorum's CompletableFutures into Vert.x futures completed on a given context. */
public final class MetadataFutures {

    private MetadataFutures() {
    }

    /** Completes on {@code context} (or on the completing thread when null), unwrapping CompletionException. */
    public static <T> Future<T> on(Context context, CompletionStage<T> stage) {
        Promise<T> promise = Promise.promise();
        stage.whenComplete((v, t) -> {
            Runnable complete = () -> {
                if (t == null) {
                    promise.complete(v);
                } else {
                    promise.fail(t instanceof CompletionException && t.getCause() != null ? t.getCause() : t);
                }
            };
            if (context == null) {
                complete.run();
            } else {
                context.runOnContext(x -> complete.run());
            }
        });
        return promise.future();
    }
}
