package io.runnel.metrics;

/**
 * Every meter name and tag Runnel registers, in one place. Names are Micrometer's dotted form; the
 * Prometheus registry renders them with underscores and unit suffixes ({@code runnel.requests} becomes
 * {@code runnel_requests_total}, {@code runnel.request.latency} becomes
 * {@code runnel_request_latency_seconds_bucket/_count/_sum}). Vert.x's own meters ({@code vertx_*}) and
 * the JVM's ({@code jvm_*}) come from vertx-micrometer-metrics.
 */
public final class MeterNames {

    private MeterNames() {
    }

    // tags
    /** Kafka API name as kafka-clients' ApiKeys spells it (PRODUCE, FETCH, ...). */
    public static final String TAG_API = "api";
    public static final String TAG_TOPIC = "topic";
    public static final String TAG_PARTITION = "partition";
    /** kafka-clients' Errors name (NOT_LEADER_OR_FOLLOWER, ...). */
    public static final String TAG_ERROR = "error";
    public static final String TAG_GROUP = "group";
    /** Index of the event loop (0 .. loops-1). */
    public static final String TAG_LOOP = "loop";

    // Kafka protocol requests, tagged by api
    public static final String REQUESTS = "runnel.requests";
    public static final String REQUEST_LATENCY = "runnel.request.latency";

    // Kafka protocol connections
    public static final String CONNECTIONS_ACTIVE = "runnel.connections.active";
    public static final String CONNECTIONS_OPENED = "runnel.connections.opened";
    /** Connections closed at once because max.connections or max.connections.per.ip was reached. */
    public static final String CONNECTIONS_REFUSED = "runnel.connections.refused";
    /** Connections closed to free request memory (the slowest frame while queued.max.request.bytes ran out). */
    public static final String CONNECTIONS_EVICTED = "runnel.connections.evicted";
    /** Bytes held by request frames (read or being read, until answered), and their limit. */
    public static final String REQUEST_MEMORY_USED = "runnel.request.memory.used";
    public static final String REQUEST_MEMORY_LIMIT = "runnel.request.memory.limit";

    // data in and out, tagged by topic
    public static final String TOPIC_BYTES_IN = "runnel.topic.bytes.in";
    public static final String TOPIC_BYTES_OUT = "runnel.topic.bytes.out";
    public static final String TOPIC_RECORDS_IN = "runnel.topic.records.in";
    public static final String TOPIC_RECORDS_OUT = "runnel.topic.records.out";

    // per-partition errors of Produce and Fetch, tagged by error
    public static final String PRODUCE_ERRORS = "runnel.produce.errors";
    public static final String FETCH_ERRORS = "runnel.fetch.errors";

    // partition state of this broker
    public static final String PARTITIONS_LEADER = "runnel.partitions.leader";
    public static final String PARTITIONS_UNDER_REPLICATED = "runnel.partitions.under.replicated";
    public static final String PARTITIONS_OFFLINE = "runnel.partitions.offline";
    public static final String ISR_SHRINKS = "runnel.isr.shrinks";
    public static final String ISR_EXPANDS = "runnel.isr.expands";

    // the process's segment files held open (log.open.files.max), untagged
    public static final String LOG_OPEN_FILES = "runnel.log.open.files";
    public static final String LOG_OPEN_FILES_LIMIT = "runnel.log.open.files.limit";
    public static final String LOG_OPEN_FILES_EVICTIONS = "runnel.log.open.files.evictions";

    // incremental fetch sessions (KIP-227, max.incremental.fetch.session.cache.slots), untagged
    public static final String FETCH_SESSIONS = "runnel.fetch.sessions";
    public static final String FETCH_SESSION_EVICTIONS = "runnel.fetch.session.evictions";

    // per hosted partition, tagged by topic and partition
    public static final String LOG_SIZE = "runnel.log.size";
    public static final String LOG_START_OFFSET = "runnel.log.start.offset";
    public static final String LOG_END_OFFSET = "runnel.log.end.offset";
    /** Kafka's kafka.log:type=LogManager,name=OfflineLogDirectoryCount. */
    public static final String LOG_DIRS_OFFLINE = "runnel.log.dirs.offline";

    // the log cleaner: totals of this broker, and per compacted partition (topic, partition)
    public static final String LOG_CLEANER_RUNS = "runnel.log.cleaner.runs";
    public static final String LOG_CLEANER_BYTES_READ = "runnel.log.cleaner.bytes.read";
    public static final String LOG_CLEANER_BYTES_WRITTEN = "runnel.log.cleaner.bytes.written";
    public static final String LOG_CLEANER_FAILURES = "runnel.log.cleaner.failures";
    public static final String LOG_CLEANER_TIME_SINCE_LAST_RUN = "runnel.log.cleaner.time.since.last.run";
    public static final String LOG_CLEANER_DIRTY_RATIO = "runnel.log.cleaner.dirty.ratio";
    public static final String LOG_CLEANER_TIME_SINCE_LAST_CLEAN = "runnel.log.cleaner.time.since.last.clean";

    // consumer group lag: per partition (group, topic, partition) and summed per group
    public static final String GROUP_LAG = "runnel.group.lag";
    public static final String GROUP_LAG_SUM = "runnel.group.lag.sum";

    // client quotas (producer_byte_rate, consumer_byte_rate, request_percentage)
    /** Kafka quota type: PRODUCE, FETCH or REQUEST. */
    public static final String TAG_QUOTA = "quota";
    /** The user and client id a quota's usage is measured for ("" where the matched quota entity has none). */
    public static final String TAG_USER = "user";
    public static final String TAG_CLIENT_ID = "client_id";
    /** Throttle times given to clients over a quota (Kafka's throttle-time), tagged by quota. */
    public static final String QUOTA_THROTTLE_TIME = "runnel.quota.throttle.time";
    /** The measured rate (bytes/s, or percent of a thread) and its limit, per quota, user and client id. */
    public static final String QUOTA_RATE = "runnel.quota.rate";
    public static final String QUOTA_LIMIT = "runnel.quota.limit";

    // how late event-loop timers fire: a busy or blocked event loop shows here first
    public static final String EVENT_LOOP_DELAY = "runnel.eventloop.delay";
}
