package io.runnel.cluster;

import java.util.Map;

/**
 * A topic (or dynamic broker) config change was computed from overrides that are no longer the topic's: the controller
 * refuses it and names the current ones, from which the forwarding broker computes the change again.
 * Never reaches a client (after too many retries the client gets INVALID_UPDATE_VERSION instead).
 */
public final class StaleConfigsException extends RuntimeException {

    private final Map<String, String> current;

    /** @param what the resource, e.g. "topic orders" or "the cluster default" */
    public StaleConfigsException(String what, Map<String, String> current) {
        super("The config overrides of " + what + " changed concurrently", null, false, false);
        this.current = Map.copyOf(current);
    }

    /** The resource's overrides as the controller holds them now. */
    public Map<String, String> current() {
        return current;
    }
}
