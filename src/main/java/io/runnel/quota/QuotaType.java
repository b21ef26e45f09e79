package io.runnel.quota;

/**
 * The kinds of client quota, each with the key its value has in a quota entity (Kafka's QuotaConfig names) and
 * whether its throttle time is capped at one window (Kafka caps the request-time quota's, not the byte rates').
 */
public enum QuotaType {
    /** Bytes per second of Produce requests. */
    PRODUCE("producer_byte_rate", false),
    /** Bytes per second of Fetch responses to consumers. */
    FETCH("consumer_byte_rate", false),
    /** Percent of one thread's time spent serving the client's requests (here: on the event loops). */
    REQUEST("request_percentage", true);

    private final String key;
    private final boolean boundedByWindow;

    QuotaType(String key, boolean boundedByWindow) {
        this.key = key;
        this.boundedByWindow = boundedByWindow;
    }

    public String key() {
        return key;
    }

    boolean boundedByWindow() {
        return boundedByWindow;
    }
}
