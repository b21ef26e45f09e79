package io.runnel.protocol;

import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import org.apache.kafka.common.Node;

/** Entry point from the listener: wraps an accepted socket in a {@link KafkaConnection}. */
public final class Connections {

    private Connections() {
    }

    public static void accept(NetSocket socket, ApiRegistry registry, int maxFrameBytes, int maxInflight,
                              Node localNode, String id) {
        new KafkaConnection((NetSocketInternal) socket, ContextInternal.current(), registry, maxFrameBytes,
                maxInflight, localNode, id).start();
    }
}
