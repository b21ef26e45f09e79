package io.runnel.server;

import java.util.concurrent.Callable;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/** Runs a task on a given context (an owner's shard, the metadata or controller context) as a future. */
public final class OnContext {

    private OnContext() {
    }

    /**
     * Queues {@code task} on {@code context} behind the tasks already there; the future completes on that
     * context with the task's result, or fails with what it threw.
     */
    public static <T> Future<T> call(Context context, Callable<T> task) {
        Promise<T> promise = Promise.promise();
        context.runOnContext(v -> {
            try {
                promise.complete(task.call());
            } catch (Throwable t) {
                promise.fail(t);
            }
        });
        return promise.future();
    }
}
