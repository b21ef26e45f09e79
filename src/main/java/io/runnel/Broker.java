package io.runnel;

import java.util.Map;

import io.vertx.core.Future;

/**
 * A running Runnel node. Tests start one in-process with Kafka-style properties, for example
 * {@code Broker.start(Map.of("log.dirs", dir.toString(), "listeners", "PLAINTEXT://127.0.0.1:0"))}
 * (port 0 picks a free port; {@link #bootstrapServers()} tells which).
 */
public final class Broker {

    private Broker() {
    }

    /** Starts a node; the properties override the embedded defaults and conf/. */
    public static Future<Broker> start(Map<String, String> properties) {
        throw new UnsupportedOperationException("not yet");
    }

    /** host:port of the Kafka listener as clients should use it. */
    public String bootstrapServers() {
        throw new UnsupportedOperationException("not yet");
    }

    /** Stops the listener, closes every log cleanly (clean-shutdown marker) and Vert.x. */
    public Future<Void> close() {
        throw new UnsupportedOperationException("not yet");
    }
}
