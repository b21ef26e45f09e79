package io.runnel.server;

import io.vertx.core.AbstractVerticle;
import io.vertx.core.Context;

/** An empty worker verticle whose context serves as a log shard or the metadata context. */
public final class ShardVerticle extends AbstractVerticle {

    public Context ownContext() {
        return context;
    }
}
