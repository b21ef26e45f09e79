package io.runnel.cluster;

import java.util.concurrent.CompletionStage;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * Hands out producer ids from blocks that the metadata log allocates (Kafka's AllocateProducerIds): a
 * block exists once the quorum has committed it, so no id is handed out twice, across restarts, brokers
 * or a wiped data directory.
 *
 * <p>Threading: {@link #next()} runs on the given context; its future completes there.
 */
public final class ProducerIdManager {

    static final int BLOCK_SIZE = 1000;

    /** Allocates a block of the given size; completes with its first id. */
    public interface BlockSource {
        CompletionStage<Long> allocate(int count);
    }

    private final Context context;
    private final BlockSource source;
    private long next;
    private long blockEnd;
    private Future<Void> fetching;

    public ProducerIdManager(Context context, BlockSource source) {
        this.context = context;
        this.source = source;
    }

    public Future<Long> next() {
        Promise<Long> p = Promise.promise();
        context.runOnContext(v -> take(p));
        return p.future();
    }

    private void take(Promise<Long> p) {
        if (next < blockEnd) {
            p.complete(next++);
            return;
        }
        if (fetching == null) {
            Promise<Void> done = Promise.promise();
            fetching = done.future();
            source.allocate(BLOCK_SIZE).whenComplete((first, t) -> context.runOnContext(x -> {
                fetching = null;
                if (t == null) {
                    next = first;
                    blockEnd = first + BLOCK_SIZE;
                    done.complete();
                } else {
                    done.fail(t instanceof java.util.concurrent.CompletionException && t.getCause() != null
                            ? t.getCause() : t);
                }
            }));
        }
        fetching.onComplete(ar -> {
            if (ar.succeeded()) {
                take(p);
            } else {
                p.fail(ar.cause());
            }
        });
    }

}
