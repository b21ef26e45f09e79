package io.runnel.bridge;

/**
 * The event-bus contract of the bridge: addresses (under a prefix, {@code runnel} by default, set by
 * {@code bridge.address.prefix}) and the message header names. See {@code package-info.java} for what
 * each address takes and answers.
 */
public final class BridgeAddresses {

    public static final String DEFAULT_PREFIX = "runnel";

    public static final String PRODUCE = "produce";
    public static final String SUBSCRIBE = "subscribe";
    public static final String HEARTBEAT = "heartbeat";
    public static final String COMMIT = "commit";
    public static final String UNSUBSCRIBE = "unsubscribe";
    public static final String METADATA = "metadata";
    /** Broker to broker only, on per-node addresses: a long-polling read of a partition on its leader. */
    public static final String READ = "read";
    /** Internal, per node: a record batch for a partition the node leads. */
    public static final String APPEND = "append";
    /** Internal, per node: log start offsets and high watermarks of partitions the node leads. */
    public static final String OFFSETS = "offsets";

    /** Topic name (produce: required; delivery: always). */
    public static final String H_TOPIC = "topic";
    /** Partition number (produce: optional, else chosen by key hash or round robin; delivery: always). */
    public static final String H_PARTITION = "partition";
    /** Record key, base64 (standard alphabet); absent for a null key. */
    public static final String H_KEY = "key";
    /** Record timestamp in epoch milliseconds (produce: optional, default now). */
    public static final String H_TIMESTAMP = "timestamp";
    /** CreateTime or LogAppendTime (delivery only). */
    public static final String H_TIMESTAMP_TYPE = "timestamp-type";
    /** Record offset (delivery only). */
    public static final String H_OFFSET = "offset";
    /** Record headers as a JSON array of {"key": name, "value": base64 or null}, in order. */
    public static final String H_HEADERS = "headers";
    /** Produce: -1 (all in-sync replicas, default) or 1 (leader only). */
    public static final String H_ACKS = "acks";
    /** Produce: the send timeout in milliseconds (default 30000), within which NOT_LEADER and the like are retried. */
    public static final String H_TIMEOUT = "timeout";
    /** Produce: {@value #FORMAT_RECORDS} for a binary batch body (see {@code package-info.java}). */
    public static final String H_FORMAT = "format";
    public static final String FORMAT_RECORDS = "records";
    /** Delivery: the subscription the record belongs to. */
    public static final String H_SUBSCRIPTION = "subscription";

    private BridgeAddresses() {
    }

    public static String address(String prefix, String name) {
        return prefix + "." + name;
    }

    /**
     * The address of {@code name} served by broker {@code nodeId} alone ({@code <prefix>.node.<id>.<name>}):
     * broker-to-broker hops only, never for applications (the external bridges do not permit them).
     */
    public static String nodeAddress(String prefix, int nodeId, String name) {
        return prefix + ".node." + nodeId + "." + name;
    }
}
