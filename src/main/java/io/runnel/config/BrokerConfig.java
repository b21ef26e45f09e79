package io.runnel.config;

import static org.apache.kafka.common.config.ConfigDef.Importance.HIGH;
import static org.apache.kafka.common.config.ConfigDef.Importance.LOW;
import static org.apache.kafka.common.config.ConfigDef.Importance.MEDIUM;
import static org.apache.kafka.common.config.ConfigDef.Range.atLeast;
import static org.apache.kafka.common.config.ConfigDef.Range.between;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.runnel.log.CleanerConfig;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.config.internals.BrokerSecurityConfigs;
import org.apache.kafka.common.security.auth.SecurityProtocol;

/**
 * Typed broker configuration with Kafka's property names and defaults. Parsing and validation go
 * through kafka-clients' {@link ConfigDef}, whose errors name the key and the bad value; start-up stops
 * on any of them.
 */
public final class BrokerConfig extends AbstractConfig {

    public static final String NODE_ID = "node.id";
    public static final String LISTENERS = "listeners";
    public static final String ADVERTISED_LISTENERS = "advertised.listeners";
    public static final String LISTENER_SECURITY_PROTOCOL_MAP = "listener.security.protocol.map";
    public static final String INTER_BROKER_LISTENER_NAME = "inter.broker.listener.name";
    public static final String SECURITY_INTER_BROKER_PROTOCOL = "security.inter.broker.protocol";
    public static final String SSL_CLIENT_AUTH = BrokerSecurityConfigs.SSL_CLIENT_AUTH_CONFIG;
    public static final String SSL_PRINCIPAL_MAPPING_RULES = BrokerSecurityConfigs.SSL_PRINCIPAL_MAPPING_RULES_CONFIG;
    public static final String SASL_ENABLED_MECHANISMS = BrokerSecurityConfigs.SASL_ENABLED_MECHANISMS_CONFIG;
    public static final String AUTHORIZER_CLASS_NAME = "authorizer.class.name";
    public static final String SUPER_USERS = "super.users";
    public static final String ALLOW_EVERYONE_IF_NO_ACL_FOUND = "allow.everyone.if.no.acl.found";
    public static final String SASL_JAAS_CONFIG = SaslConfigs.SASL_JAAS_CONFIG;
    public static final String SASL_MECHANISM_INTER_BROKER_PROTOCOL =
            BrokerSecurityConfigs.SASL_MECHANISM_INTER_BROKER_PROTOCOL_CONFIG;
    /** SCRAM users written to the metadata log when absent, as kafka-storage.sh format --add-scram seeds them. */
    public static final String BOOTSTRAP_SCRAM_USERS = "runnel.bootstrap.scram.users";
    public static final String SSL_ENGINE = "runnel.ssl.engine";
    public static final String SASL_SERVER_MAX_RECEIVE_SIZE = BrokerSecurityConfigs.SASL_SERVER_MAX_RECEIVE_SIZE_CONFIG;
    public static final String CONNECTIONS_MAX_REAUTH_MS = BrokerSecurityConfigs.CONNECTIONS_MAX_REAUTH_MS_CONFIG;
    public static final String CONNECTION_FAILED_AUTHENTICATION_DELAY_MS = "connection.failed.authentication.delay.ms";
    public static final String QUOTA_WINDOW_NUM = "quota.window.num";
    public static final String QUOTA_WINDOW_SIZE_SECONDS = "quota.window.size.seconds";
    public static final String LOG_DIRS = "log.dirs";
    public static final String LOG_DIR = "log.dir";
    public static final String CLUSTER_ID = "cluster.id";
    public static final String NUM_PARTITIONS = "num.partitions";
    public static final String DEFAULT_REPLICATION_FACTOR = "default.replication.factor";
    public static final String MIN_INSYNC_REPLICAS = "min.insync.replicas";
    public static final String AUTO_CREATE_TOPICS_ENABLE = "auto.create.topics.enable";
    public static final String DELETE_TOPIC_ENABLE = "delete.topic.enable";
    public static final String LOG_RETENTION_MS = "log.retention.ms";
    public static final String LOG_RETENTION_MINUTES = "log.retention.minutes";
    public static final String LOG_RETENTION_HOURS = "log.retention.hours";
    public static final String LOG_RETENTION_BYTES = "log.retention.bytes";
    public static final String LOG_SEGMENT_BYTES = "log.segment.bytes";
    public static final String LOG_ROLL_MS = "log.roll.ms";
    public static final String LOG_ROLL_HOURS = "log.roll.hours";
    public static final String LOG_RETENTION_CHECK_INTERVAL_MS = "log.retention.check.interval.ms";
    public static final String LOG_FLUSH_INTERVAL_MESSAGES = "log.flush.interval.messages";
    public static final String LOG_FLUSH_INTERVAL_MS = "log.flush.interval.ms";
    public static final String LOG_FLUSH_SCHEDULER_INTERVAL_MS = "log.flush.scheduler.interval.ms";
    public static final String LOG_FLUSH_OFFSET_CHECKPOINT_INTERVAL_MS = "log.flush.offset.checkpoint.interval.ms";
    public static final String LOG_FLUSH_START_OFFSET_CHECKPOINT_INTERVAL_MS =
            "log.flush.start.offset.checkpoint.interval.ms";
    public static final String LOG_INDEX_INTERVAL_BYTES = "log.index.interval.bytes";
    public static final String LOG_INDEX_SIZE_MAX_BYTES = "log.index.size.max.bytes";
    public static final String LOG_SEGMENT_DELETE_DELAY_MS = "log.segment.delete.delay.ms";
    public static final String LOG_CLEANUP_POLICY = "log.cleanup.policy";
    public static final String LOG_MESSAGE_TIMESTAMP_TYPE = "log.message.timestamp.type";
    public static final String LOG_MESSAGE_TIMESTAMP_BEFORE_MAX_MS = "log.message.timestamp.before.max.ms";
    public static final String LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS = "log.message.timestamp.after.max.ms";
    public static final String MESSAGE_MAX_BYTES = "message.max.bytes";
    public static final String COMPRESSION_TYPE = "compression.type";
    public static final String UNCLEAN_LEADER_ELECTION_ENABLE = "unclean.leader.election.enable";
    public static final String SOCKET_REQUEST_MAX_BYTES = "socket.request.max.bytes";
    public static final String SOCKET_SEND_BUFFER_BYTES = "socket.send.buffer.bytes";
    public static final String SOCKET_RECEIVE_BUFFER_BYTES = "socket.receive.buffer.bytes";
    public static final String CONNECTIONS_MAX_IDLE_MS = "connections.max.idle.ms";
    public static final String QUEUED_MAX_REQUESTS_PER_CONNECTION = "queued.max.requests.per.connection";
    public static final String QUEUED_MAX_REQUEST_BYTES = "queued.max.request.bytes";
    public static final String MAX_CONNECTIONS = "max.connections";
    public static final String MAX_CONNECTIONS_PER_IP = "max.connections.per.ip";
    public static final String OFFSETS_TOPIC_NUM_PARTITIONS = "offsets.topic.num.partitions";
    public static final String OFFSETS_TOPIC_SEGMENT_BYTES = "offsets.topic.segment.bytes";
    public static final String OFFSETS_TOPIC_REPLICATION_FACTOR = "offsets.topic.replication.factor";
    public static final String OFFSETS_COMMIT_TIMEOUT_MS = "offsets.commit.timeout.ms";
    public static final String REQUEST_TIMEOUT_MS = "request.timeout.ms";
    public static final String TRANSACTION_STATE_LOG_NUM_PARTITIONS = "transaction.state.log.num.partitions";
    public static final String TRANSACTION_STATE_LOG_REPLICATION_FACTOR = "transaction.state.log.replication.factor";
    public static final String TRANSACTION_STATE_LOG_MIN_ISR = "transaction.state.log.min.isr";
    public static final String TRANSACTION_STATE_LOG_SEGMENT_BYTES = "transaction.state.log.segment.bytes";
    public static final String TRANSACTION_MAX_TIMEOUT_MS = "transaction.max.timeout.ms";
    public static final String TRANSACTION_PARTITION_VERIFICATION_ENABLE = "transaction.partition.verification.enable";
    public static final String TRANSACTIONAL_ID_EXPIRATION_MS = "transactional.id.expiration.ms";
    public static final String TRANSACTION_ABORT_TIMED_OUT_CLEANUP_INTERVAL_MS =
            "transaction.abort.timed.out.transaction.cleanup.interval.ms";
    public static final String TRANSACTION_REMOVE_EXPIRED_CLEANUP_INTERVAL_MS =
            "transaction.remove.expired.transaction.cleanup.interval.ms";
    public static final String OFFSETS_RETENTION_MINUTES = "offsets.retention.minutes";
    public static final String OFFSETS_RETENTION_CHECK_INTERVAL_MS = "offsets.retention.check.interval.ms";
    public static final String OFFSET_METADATA_MAX_BYTES = "offset.metadata.max.bytes";
    public static final String GROUP_INITIAL_REBALANCE_DELAY_MS = "group.initial.rebalance.delay.ms";
    public static final String GROUP_MIN_SESSION_TIMEOUT_MS = "group.min.session.timeout.ms";
    public static final String GROUP_MAX_SESSION_TIMEOUT_MS = "group.max.session.timeout.ms";
    public static final String GROUP_MAX_SIZE = "group.max.size";
    public static final String LOG_SHARDS = "runnel.log.shards";
    public static final String REPLICA_LAG_TIME_MAX_MS = "replica.lag.time.max.ms";
    public static final String REPLICA_FETCH_WAIT_MAX_MS = "replica.fetch.wait.max.ms";
    public static final String REPLICA_FETCH_MIN_BYTES = "replica.fetch.min.bytes";
    public static final String REPLICA_FETCH_MAX_BYTES = "replica.fetch.max.bytes";
    public static final String REPLICA_FETCH_RESPONSE_MAX_BYTES = "replica.fetch.response.max.bytes";
    public static final String REPLICA_FETCH_BACKOFF_MS = "replica.fetch.backoff.ms";
    public static final String REPLICA_HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS = "replica.high.watermark.checkpoint.interval.ms";
    public static final String MAX_INCREMENTAL_FETCH_SESSION_CACHE_SLOTS = "max.incremental.fetch.session.cache.slots";
    public static final String LOG_CLEANER_DELETE_RETENTION_MS = "log.cleaner.delete.retention.ms";
    public static final String LOG_CLEANER_MIN_COMPACTION_LAG_MS = "log.cleaner.min.compaction.lag.ms";
    public static final String LOG_CLEANER_MAX_COMPACTION_LAG_MS = "log.cleaner.max.compaction.lag.ms";
    public static final String LOG_CLEANER_MIN_CLEANABLE_RATIO = "log.cleaner.min.cleanable.ratio";
    public static final String LOG_CLEANER_ENABLE = "log.cleaner.enable";
    public static final String LOG_CLEANER_THREADS = "log.cleaner.threads";
    public static final String LOG_CLEANER_DEDUPE_BUFFER_SIZE = "log.cleaner.dedupe.buffer.size";
    public static final String LOG_CLEANER_IO_BUFFER_SIZE = "log.cleaner.io.buffer.size";
    public static final String LOG_CLEANER_IO_MAX_BYTES_PER_SECOND = "log.cleaner.io.max.bytes.per.second";
    public static final String LOG_CLEANER_BACKOFF_MS = "log.cleaner.backoff.ms";
    public static final String LOG_PREALLOCATE = "log.preallocate";
    /** Runnel only: how many segment files ({@code .log}) may be open at once; 0 for half the open-file limit. */
    public static final String LOG_OPEN_FILES_MAX = "log.open.files.max";
    public static final String LOG_ROLL_JITTER_MS = "log.roll.jitter.ms";
    public static final String LOG_LOCAL_RETENTION_MS = "log.local.retention.ms";
    public static final String LOG_LOCAL_RETENTION_BYTES = "log.local.retention.bytes";
    public static final String COMPRESSION_GZIP_LEVEL = "compression.gzip.level";
    public static final String COMPRESSION_LZ4_LEVEL = "compression.lz4.level";
    public static final String COMPRESSION_ZSTD_LEVEL = "compression.zstd.level";
    public static final String CLUSTER_ENABLED = "cluster.enabled";
    public static final String CLUSTER_NAME = "cluster.name";
    public static final String CLUSTER_HOST = "cluster.host";
    public static final String CLUSTER_PORT = "cluster.port";
    public static final String CLUSTER_PORT_COUNT = "cluster.port.count";
    public static final String CLUSTER_EVENT_LOOP_THREADS = "cluster.event.loop.threads";
    public static final String CLUSTER_MEMBERS = "cluster.members";
    /** No longer used: the metadata quorum's majority is that of {@link #CONTROLLER_QUORUM_VOTERS}. */
    public static final String CLUSTER_SIZE = "cluster.size";
    public static final String CONTROLLER_QUORUM_VOTERS = "controller.quorum.voters";
    public static final String PROCESS_ROLES = "process.roles";
    public static final String METADATA_LOG_DIR = "metadata.log.dir";
    public static final String CONTROLLER_QUORUM_ELECTION_TIMEOUT_MS = "controller.quorum.election.timeout.ms";
    public static final String CONTROLLER_QUORUM_REQUEST_TIMEOUT_MS = "controller.quorum.request.timeout.ms";
    public static final String CONTROLLER_QUORUM_SSL_ENABLED = "controller.quorum.ssl.enabled";
    public static final String METADATA_SNAPSHOT_INTERVAL_RECORDS = "metadata.log.max.records.between.snapshots";
    public static final String BROKER_SESSION_TIMEOUT_MS = "broker.session.timeout.ms";
    public static final String BRIDGE_ENABLED = "bridge.enabled";
    public static final String BRIDGE_ADDRESS_PREFIX = "bridge.address.prefix";
    public static final String BRIDGE_TCP_LISTENER = "bridge.tcp.listener";
    public static final String BRIDGE_SOCKJS_LISTENER = "bridge.sockjs.listener";
    public static final String BRIDGE_SOCKJS_PATH = "bridge.sockjs.path";
    public static final String BRIDGE_PERMITTED_ADDRESSES = "bridge.permitted.addresses";
    public static final String BRIDGE_AUTH_TOKEN = "bridge.auth.token";
    public static final String BRIDGE_AUTH_MAX_FAILURES = "bridge.auth.max.failures";
    public static final String BRIDGE_MAX_FRAME_BYTES = "bridge.max.frame.bytes";
    public static final String ADMIN_LISTENER = "admin.listener";
    public static final String ADMIN_AUTH_TOKEN = "admin.auth.token";

    private static final long DAY_MS = 24L * 3600 * 1000;

    public static final ConfigDef DEF = new ConfigDef()
            .define(NODE_ID, Type.INT, 1, atLeast(0), HIGH, "The id of this broker.")
            .define(CLUSTER_ID, Type.STRING, "runnel-cluster", HIGH, "The cluster id reported in Metadata.")
            .define(LISTENERS, Type.LIST, "PLAINTEXT://127.0.0.1:9092", HIGH,
                    "Kafka protocol listeners, NAME://host:port. Port 0 picks a free port.")
            .define(ADVERTISED_LISTENERS, Type.LIST, null, HIGH,
                    "Addresses given to clients; defaults to listeners.")
            .define(LISTENER_SECURITY_PROTOCOL_MAP, Type.LIST, Listener.DEFAULT_PROTOCOL_MAP, LOW,
                    "Security protocol of each listener name, NAME:PROTOCOL (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL).")
            .define(INTER_BROKER_LISTENER_NAME, Type.STRING, null, MEDIUM,
                    "The listener brokers reach each other on (follower fetches); only one of this and "
                            + SECURITY_INTER_BROKER_PROTOCOL + " may be set.")
            .define(SECURITY_INTER_BROKER_PROTOCOL, Type.STRING, SecurityProtocol.PLAINTEXT.name,
                    ConfigDef.ValidString.in(SecurityProtocol.names().toArray(new String[0])), MEDIUM,
                    "The protocol (and so the listener of that name) brokers reach each other on.")
            .define(SSL_CLIENT_AUTH, Type.STRING, BrokerSecurityConfigs.SSL_CLIENT_AUTH_DEFAULT,
                    ConfigDef.ValidString.in("required", "requested", "none"), MEDIUM,
                    "Whether TLS listeners ask clients for a certificate (mutual TLS): required, requested or none.")
            .define(BrokerSecurityConfigs.SSL_ALLOW_DN_CHANGES_CONFIG, Type.BOOLEAN,
                    BrokerSecurityConfigs.DEFAULT_SSL_ALLOW_DN_CHANGES_VALUE, LOW,
                    BrokerSecurityConfigs.SSL_ALLOW_DN_CHANGES_DOC)
            .define(BrokerSecurityConfigs.SSL_ALLOW_SAN_CHANGES_CONFIG, Type.BOOLEAN,
                    BrokerSecurityConfigs.DEFAULT_SSL_ALLOW_SAN_CHANGES_VALUE, LOW,
                    BrokerSecurityConfigs.SSL_ALLOW_SAN_CHANGES_DOC)
            .define(SSL_PRINCIPAL_MAPPING_RULES, Type.STRING, BrokerSecurityConfigs.DEFAULT_SSL_PRINCIPAL_MAPPING_RULES,
                    LOW, "Rules mapping a client certificate's distinguished name to a principal name.")
            .define(AUTHORIZER_CLASS_NAME, Type.STRING, "", MEDIUM,
                    "org.apache.kafka.metadata.authorizer.StandardAuthorizer turns on Runnel's ACL authorizer"
                            + " (ACLs in the metadata log); empty for none.")
            .define(SUPER_USERS, Type.STRING, "", MEDIUM,
                    "Principals allowed everything by the authorizer, separated by semicolons (User:admin;User:ops).")
            .define(ALLOW_EVERYONE_IF_NO_ACL_FOUND, Type.BOOLEAN, false, MEDIUM,
                    "Whether the authorizer allows an operation on a resource that no ACL names.")
            .define(SASL_ENABLED_MECHANISMS, Type.LIST, BrokerSecurityConfigs.DEFAULT_SASL_ENABLED_MECHANISMS, MEDIUM,
                    "SASL mechanisms SASL listeners accept: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER.")
            .define(SASL_JAAS_CONFIG, Type.PASSWORD, null, MEDIUM,
                    "JAAS login context of SASL listeners that have no listener.name.<listener>.<mechanism>.sasl.jaas.config;"
                            + " PLAIN users are its user_<name>=\"<password>\" options.")
            .define(SASL_SERVER_MAX_RECEIVE_SIZE, Type.INT, BrokerSecurityConfigs.DEFAULT_SASL_SERVER_MAX_RECEIVE_SIZE,
                    atLeast(1), LOW, "Largest frame a SASL connection may send before it has authenticated.")
            .define(CONNECTIONS_MAX_REAUTH_MS, Type.LONG, 0L, atLeast(0), LOW,
                    "Longest session of a SASL connection before it must re-authenticate (KIP-368); 0 for no limit"
                            + " but an OAuth token's expiry.")
            .define(CONNECTION_FAILED_AUTHENTICATION_DELAY_MS, Type.INT, 100, atLeast(0), LOW,
                    "How long a failed authentication's answer is held before the connection is closed.")
            .define(QUOTA_WINDOW_NUM, Type.INT, 11, atLeast(1), LOW,
                    "The number of samples to retain in memory for client quotas.")
            .define(QUOTA_WINDOW_SIZE_SECONDS, Type.INT, 1, atLeast(1), LOW,
                    "The time span of each sample for client quotas.")
            .define(LOG_DIRS, Type.LIST, null, HIGH, "Directories holding partition logs.")
            .define(LOG_DIR, Type.STRING, "data", HIGH, "Log directory used when log.dirs is not set.")
            .define(NUM_PARTITIONS, Type.INT, 1, atLeast(1), MEDIUM, "Partitions of auto-created topics.")
            .define(DEFAULT_REPLICATION_FACTOR, Type.SHORT, (short) 1, atLeast(1), MEDIUM,
                    "Replication factor of auto-created topics.")
            .define(MIN_INSYNC_REPLICAS, Type.INT, 1, atLeast(1), HIGH,
                    "Minimum in-sync replicas for acks=all writes.")
            .define(AUTO_CREATE_TOPICS_ENABLE, Type.BOOLEAN, true, HIGH, "Create topics on first use.")
            .define(DELETE_TOPIC_ENABLE, Type.BOOLEAN, true, HIGH, "Allow DeleteTopics.")
            .define(LOG_RETENTION_MS, Type.LONG, null, HIGH, "Retention by time; -1 for unlimited.")
            .define(LOG_RETENTION_MINUTES, Type.INT, null, HIGH, "Retention by time, in minutes.")
            .define(LOG_RETENTION_HOURS, Type.INT, 168, HIGH, "Retention by time, in hours.")
            .define(LOG_RETENTION_BYTES, Type.LONG, -1L, HIGH, "Retention by size per partition; -1 for unlimited.")
            .define(LOG_SEGMENT_BYTES, Type.INT, 1 << 30, atLeast(1024 * 1024), HIGH, "Segment size.")
            .define(LOG_ROLL_MS, Type.LONG, null, HIGH, "Roll a segment after this time.")
            .define(LOG_ROLL_HOURS, Type.INT, 168, atLeast(1), HIGH, "Roll a segment after this time, in hours.")
            .define(LOG_RETENTION_CHECK_INTERVAL_MS, Type.LONG, 300_000L, atLeast(1), MEDIUM,
                    "How often retention is applied.")
            .define(LOG_FLUSH_INTERVAL_MESSAGES, Type.LONG, Long.MAX_VALUE, atLeast(1), HIGH,
                    "fsync after this many messages.")
            .define(LOG_FLUSH_INTERVAL_MS, Type.LONG, null, HIGH, "fsync after this time.")
            .define(LOG_FLUSH_SCHEDULER_INTERVAL_MS, Type.LONG, Long.MAX_VALUE, atLeast(1), MEDIUM,
                    "How often the flusher checks flush.ms.")
            .define(LOG_FLUSH_OFFSET_CHECKPOINT_INTERVAL_MS, Type.LONG, 60_000L, atLeast(1), HIGH,
                    "How often each log directory's recovery-point-offset-checkpoint is written (an older"
                            + " recovery point only means more of the log is scanned after a crash).")
            .define(LOG_FLUSH_START_OFFSET_CHECKPOINT_INTERVAL_MS, Type.LONG, 60_000L, atLeast(1), HIGH,
                    "How often each log directory's log-start-offset-checkpoint is written (DeleteRecords also"
                            + " writes it soon after).")
            .define(LOG_INDEX_INTERVAL_BYTES, Type.INT, 4096, atLeast(0), MEDIUM, "Bytes between index entries.")
            .define(LOG_INDEX_SIZE_MAX_BYTES, Type.INT, 10 * 1024 * 1024, atLeast(4), MEDIUM, "Max index size.")
            .define(LOG_SEGMENT_DELETE_DELAY_MS, Type.LONG, 60_000L, atLeast(0), MEDIUM,
                    "Delay before a deleted segment's files are removed.")
            .define(LOG_CLEANUP_POLICY, Type.LIST, "delete",
                    ConfigDef.ValidList.in(TopicConfig.CLEANUP_POLICY_DELETE, TopicConfig.CLEANUP_POLICY_COMPACT),
                    MEDIUM, "delete and/or compact.")
            .define(LOG_MESSAGE_TIMESTAMP_TYPE, Type.STRING, "CreateTime",
                    ConfigDef.ValidString.in("CreateTime", "LogAppendTime"), MEDIUM, "Record timestamp type.")
            .define(LOG_MESSAGE_TIMESTAMP_BEFORE_MAX_MS, Type.LONG, Long.MAX_VALUE, atLeast(0), MEDIUM,
                    "How far in the past a record timestamp may be.")
            .define(LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS, Type.LONG, 3600_000L, atLeast(0), MEDIUM,
                    "How far in the future a record timestamp may be.")
            .define(MESSAGE_MAX_BYTES, Type.INT, 1024 * 1024 + 12, atLeast(0), HIGH, "Largest record batch.")
            .define(COMPRESSION_TYPE, Type.STRING, "producer",
                    ConfigDef.ValidString.in("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"), MEDIUM,
                    "Topic compression; only 'producer' (store as sent) is applied.")
            .define(UNCLEAN_LEADER_ELECTION_ENABLE, Type.BOOLEAN, false, MEDIUM, "Unclean leader election.")
            .define(SOCKET_REQUEST_MAX_BYTES, Type.INT, 100 * 1024 * 1024, atLeast(1), HIGH,
                    "Largest request frame accepted.")
            // -1 (the OS's auto-tuned buffer, up to net.ipv4.tcp_wmem's maximum) rather than Kafka's 102400: a
            // fixed SO_SNDBUF turns auto-tuning off, and then the event loop must wake up to refill the buffer
            // every few hundred KiB of a multi-MB fetch answer while the consumer waits for the rest
            // (300 MB consumed: 648 event-loop wake-ups with 256 KiB, 188 with the OS default)
            .define(SOCKET_SEND_BUFFER_BYTES, Type.INT, -1, atLeast(-1), MEDIUM,
                    "SO_SNDBUF of the Kafka listener's sockets; -1 for the OS default (auto-tuned).")
            .define(SOCKET_RECEIVE_BUFFER_BYTES, Type.INT, 256 * 1024, atLeast(-1), MEDIUM,
                    "SO_RCVBUF of the Kafka listener's sockets; -1 for the OS default (auto-tuned).")
            .define(CONNECTIONS_MAX_IDLE_MS, Type.LONG, 600_000L, minusOneOrPositive(), MEDIUM,
                    "Connections with nothing read or written for this long are closed; -1 never closes them.")
            // Kafka reads one request per connection at a time; five keeps the pipelining of the Java producer
            // (max.in.flight.requests.per.connection=5) while bounding what one connection can have in processing
            .define(QUEUED_MAX_REQUESTS_PER_CONNECTION, Type.INT, 5, between(1, 1024), LOW,
                    "Requests in flight per connection before reading pauses.")
            // Kafka's default is -1 (unbounded); here a share of the direct memory the frames live in, see
            // queuedMaxRequestBytes()
            .define(QUEUED_MAX_REQUEST_BYTES, Type.LONG, null, minusOneOrPositive(), HIGH,
                    "Bytes all request frames may hold, read or being read, until answered; reading stops at the "
                            + "limit. Default: a quarter of the JVM's max direct memory, at least "
                            + "socket.request.max.bytes; -1 for no limit.")
            .define(MAX_CONNECTIONS, Type.INT, Integer.MAX_VALUE, atLeast(0), MEDIUM,
                    "Kafka listener connections this node keeps open; more are closed at once.")
            .define(MAX_CONNECTIONS_PER_IP, Type.INT, Integer.MAX_VALUE, atLeast(0), MEDIUM,
                    "Kafka listener connections this node keeps open from one client address; more are closed at once.")
            .define(OFFSETS_TOPIC_NUM_PARTITIONS, Type.INT, 50, atLeast(1), HIGH,
                    "Partitions of __consumer_offsets.")
            .define(OFFSETS_TOPIC_SEGMENT_BYTES, Type.INT, 100 * 1024 * 1024, atLeast(1024 * 1024), LOW,
                    "Segment size of __consumer_offsets.")
            .define(OFFSETS_TOPIC_REPLICATION_FACTOR, Type.SHORT, (short) 3, atLeast(1), HIGH,
                    "Replication factor of __consumer_offsets, capped at cluster.size (1 on a single node).")
            .define(OFFSETS_COMMIT_TIMEOUT_MS, Type.INT, 5000, atLeast(1), HIGH,
                    "How long an offset commit waits for the replicas of its __consumer_offsets partition.")
            .define(TRANSACTION_STATE_LOG_NUM_PARTITIONS, Type.INT, 50, atLeast(1), HIGH,
                    "Partitions of __transaction_state.")
            .define(TRANSACTION_STATE_LOG_REPLICATION_FACTOR, Type.SHORT, (short) 3, atLeast(1), HIGH,
                    "Replication factor of __transaction_state, capped at the brokers of the cluster (1 on a single"
                            + " node).")
            .define(TRANSACTION_STATE_LOG_MIN_ISR, Type.INT, 2, atLeast(1), HIGH,
                    "min.insync.replicas of __transaction_state (capped at its replication factor).")
            .define(TRANSACTION_STATE_LOG_SEGMENT_BYTES, Type.INT, 100 * 1024 * 1024, atLeast(1), HIGH,
                    "Segment size of __transaction_state.")
            .define(REQUEST_TIMEOUT_MS, Type.INT, 30_000, atLeast(1), HIGH,
                    "How long this broker waits for the answer to a request it sends another broker (transaction"
                            + " markers, AddPartitionsToTxn from a partition leader) and how long a transaction"
                            + " marker or a __transaction_state write waits for its in-sync replicas, as Kafka's"
                            + " broker uses it.")
            .define(TRANSACTION_MAX_TIMEOUT_MS, Type.INT, 900_000, atLeast(1), HIGH,
                    "The largest transaction.timeout.ms a producer may ask for (InitProducerId gets"
                            + " INVALID_TRANSACTION_TIMEOUT above it).")
            .define(TRANSACTION_PARTITION_VERIFICATION_ENABLE, Type.BOOLEAN, true, HIGH,
                    "Whether a partition leader checks with the transaction coordinator that a partition is in the"
                            + " transaction before an older (transaction version 1) client's transactional batch or"
                            + " offset commit opens a transaction there (KIP-890 part 1). Version-2 clients always"
                            + " have their partitions added by the leader.")
            .define(TRANSACTIONAL_ID_EXPIRATION_MS, Type.INT, 604_800_000, atLeast(1), HIGH,
                    "How long a transactional id without a transaction in progress is kept before it expires.")
            .define(TRANSACTION_ABORT_TIMED_OUT_CLEANUP_INTERVAL_MS, Type.INT, 10_000, atLeast(1), LOW,
                    "How often transactions that outlived their timeout are aborted.")
            .define(TRANSACTION_REMOVE_EXPIRED_CLEANUP_INTERVAL_MS, Type.INT, 3_600_000, atLeast(1), LOW,
                    "How often expired transactional ids are removed.")
            .define(OFFSETS_RETENTION_MINUTES, Type.INT, 7 * 24 * 60, atLeast(1), HIGH, "Committed offset retention.")
            .define(OFFSETS_RETENTION_CHECK_INTERVAL_MS, Type.LONG, 600_000L, atLeast(1), LOW,
                    "How often expired offsets are removed.")
            .define(OFFSET_METADATA_MAX_BYTES, Type.INT, 4096, atLeast(0), LOW, "Largest commit metadata.")
            .define(GROUP_INITIAL_REBALANCE_DELAY_MS, Type.INT, 3000, atLeast(0), MEDIUM,
                    "Delay of the first rebalance of a new group.")
            .define(GROUP_MIN_SESSION_TIMEOUT_MS, Type.INT, 6000, atLeast(0), MEDIUM, "Smallest session timeout.")
            .define(GROUP_MAX_SESSION_TIMEOUT_MS, Type.INT, 1_800_000, atLeast(0), MEDIUM, "Largest session timeout.")
            .define(GROUP_MAX_SIZE, Type.INT, Integer.MAX_VALUE, atLeast(1), MEDIUM, "Largest consumer group.")
            .define(LOG_CLEANER_DELETE_RETENTION_MS, Type.LONG, 86_400_000L, atLeast(0), MEDIUM,
                    "How long tombstones are kept on compacted topics.")
            .define(LOG_CLEANER_MIN_COMPACTION_LAG_MS, Type.LONG, 0L, atLeast(0), MEDIUM, "Minimum age before compaction.")
            .define(LOG_CLEANER_MAX_COMPACTION_LAG_MS, Type.LONG, Long.MAX_VALUE, atLeast(1), MEDIUM,
                    "Maximum age before compaction.")
            .define(LOG_CLEANER_MIN_CLEANABLE_RATIO, Type.DOUBLE, 0.5, between(0, 1), MEDIUM,
                    "Dirty ratio that makes a log eligible for compaction.")
            .define(LOG_CLEANER_ENABLE, Type.BOOLEAN, true, MEDIUM,
                    "Run the log cleaner, which compacts topics with cleanup.policy=compact (__consumer_offsets too).")
            .define(LOG_CLEANER_THREADS, Type.INT, 1, atLeast(0), MEDIUM, "Threads cleaning logs.")
            .define(LOG_OPEN_FILES_MAX, Type.INT, 0, atLeast(0), MEDIUM,
                    "How many segment files (.log) may be open at once, in all log directories together. A segment"
                    + " file not used for a while is closed when one more must be opened, and reopened on its next"
                    + " read or append; one being read (a fetch still sending from it) is never closed under the"
                    + " reader. 0: half the process's open-file limit. At least "
                    + io.runnel.log.SegmentChannels.MIN_LIMIT + " and at most the open-file limit.")
            .define(LOG_CLEANER_DEDUPE_BUFFER_SIZE, Type.LONG, 128L * 1024 * 1024, atLeast(1024 * 1024), MEDIUM,
                    "Memory of the cleaner threads together for their key-to-offset maps (24 bytes a key).")
            .define(LOG_CLEANER_IO_BUFFER_SIZE, Type.INT, 512 * 1024, atLeast(8 * 1024), MEDIUM,
                    "Read and write buffers of the cleaner threads together.")
            .define(LOG_CLEANER_IO_MAX_BYTES_PER_SECOND, Type.DOUBLE, Double.MAX_VALUE, atLeast(1), MEDIUM,
                    "Cap on what the cleaner threads read and write per second together.")
            .define(LOG_CLEANER_BACKOFF_MS, Type.LONG, 15_000L, atLeast(0), MEDIUM,
                    "Pause of a cleaner thread that found no log worth cleaning.")
            .define(LOG_PREALLOCATE, Type.BOOLEAN, false, MEDIUM, "Preallocate segment files.")
            .define(LOG_ROLL_JITTER_MS, Type.LONG, 0L, atLeast(0), MEDIUM, "Jitter subtracted from segment.ms.")
            .define(LOG_LOCAL_RETENTION_MS, Type.LONG, -2L, atLeast(-2), MEDIUM, "Local retention with tiered storage.")
            .define(LOG_LOCAL_RETENTION_BYTES, Type.LONG, -2L, atLeast(-2), MEDIUM,
                    "Local retention with tiered storage.")
            .define(COMPRESSION_GZIP_LEVEL, Type.INT, -1, between(-1, 9), LOW, "gzip level when recompressing.")
            .define(COMPRESSION_LZ4_LEVEL, Type.INT, 9, between(1, 17), LOW, "lz4 level when recompressing.")
            .define(COMPRESSION_ZSTD_LEVEL, Type.INT, 3, between(-131072, 22), LOW, "zstd level when recompressing.")
            .define(REPLICA_LAG_TIME_MAX_MS, Type.LONG, 30_000L, atLeast(1), HIGH,
                    "A follower that has not caught up to the leader's log end for this long leaves the ISR.")
            .define(REPLICA_FETCH_WAIT_MAX_MS, Type.INT, 500, atLeast(0), MEDIUM,
                    "Longest wait of a follower's fetch for new data.")
            .define(REPLICA_FETCH_MIN_BYTES, Type.INT, 1, atLeast(0), MEDIUM, "Bytes a follower's fetch waits for.")
            .define(REPLICA_FETCH_MAX_BYTES, Type.INT, 1024 * 1024, atLeast(0), MEDIUM,
                    "Bytes a follower fetches per partition (at least one batch).")
            .define(REPLICA_FETCH_RESPONSE_MAX_BYTES, Type.INT, 10 * 1024 * 1024, atLeast(0), MEDIUM,
                    "Bytes a follower fetches per request (at least one batch).")
            .define(REPLICA_FETCH_BACKOFF_MS, Type.INT, 1000, atLeast(0), MEDIUM,
                    "Pause of a follower's fetching after an error.")
            .define(REPLICA_HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS, Type.LONG, 5000L, atLeast(1), HIGH,
                    "How often each log directory's replication-offset-checkpoint (the high watermarks a restart"
                            + " starts from) is written.")
            .define(MAX_INCREMENTAL_FETCH_SESSION_CACHE_SLOTS, Type.INT, 1000, atLeast(0), MEDIUM,
                    "Incremental fetch sessions (KIP-227) held at most, for consumers and followers together; 0"
                            + " turns them off (every fetch is then a full one).")
            .define(LOG_SHARDS, Type.INT, 0, atLeast(0), LOW,
                    "Worker contexts owning partitions; 0 picks the number of cores.")
            .define(CLUSTER_ENABLED, Type.BOOLEAN, false, HIGH,
                    "Join a Hazelcast cluster so the event bus reaches other Vert.x applications.")
            .define(CLUSTER_NAME, Type.STRING, "runnel", new ConfigDef.NonEmptyString(), MEDIUM, "Hazelcast cluster name; only members with the same name join.")
            .define(CLUSTER_HOST, Type.STRING, "127.0.0.1", new ConfigDef.NonEmptyString(), HIGH,
                    "Interface the Hazelcast member and the event bus bind to and advertise.")
            .define(CLUSTER_PORT, Type.INT, 5701, between(1, 65535), HIGH,
                    "First Hazelcast member port; the next cluster.port.count - 1 ports are tried if it is taken.")
            .define(CLUSTER_PORT_COUNT, Type.INT, 10, between(1, 1000), LOW,
                    "How many ports from cluster.port a member may take.")
            .define(CLUSTER_EVENT_LOOP_THREADS, Type.INT, 1, between(1, 1024), LOW,
                    "Event loops of the clustered side (the event bus, its bridge and the TCP/SockJS bridges). One"
                    + " keeps an event-bus request, the bridge's handling and the reply on one thread; raise it for"
                    + " many bridge connections on a large machine.")
            .define(BROKER_SESSION_TIMEOUT_MS, Type.INT, 9000, atLeast(1000), HIGH,
                    "A cluster member that sends no heartbeat for this long is removed, and its partitions fail over.")
            .define(CLUSTER_SIZE, Type.INT, 0, atLeast(0), LOW,
                    "Ignored (kept so that old configurations still start): the metadata quorum is controller.quorum.voters.")
            .define(CONTROLLER_QUORUM_VOTERS, Type.LIST, "", HIGH,
                    "Voters of the metadata quorum, id@host:port each (the port is the Raft transport's). Empty: this"
                            + " node alone, on 127.0.0.1 and a free port.")
            .define(PROCESS_ROLES, Type.LIST, "broker,controller", HIGH,
                    "broker,controller: a voter of the metadata quorum (it must be in controller.quorum.voters);"
                            + " broker: follows the metadata log as a non-voting learner.")
            .define(METADATA_LOG_DIR, Type.STRING, null, HIGH,
                    "Directory of the metadata log (Raft storage). Default: the first of log.dirs.")
            .define(CONTROLLER_QUORUM_ELECTION_TIMEOUT_MS, Type.INT, 1000, between(50, 60_000), MEDIUM,
                    "How long a voter waits without hearing from the controller before it calls an election (the"
                            + " Raft election timeout; a random value up to twice this is used).")
            .define(CONTROLLER_QUORUM_REQUEST_TIMEOUT_MS, Type.INT, 5000, between(100, 300_000), MEDIUM,
                    "How long a metadata change (topic creation, ISR change, ...) waits for the quorum before it"
                            + " fails with REQUEST_TIMED_OUT.")
            .define(CONTROLLER_QUORUM_SSL_ENABLED, Type.BOOLEAN, false, MEDIUM,
                    "Mutual TLS on the metadata quorum's Raft transport (the ports in controller.quorum.voters): every"
                            + " member shows the inter-broker listener's keystore and accepts only peers whose"
                            + " certificate its truststore trusts (ssl.keystore.*, ssl.truststore.*, overridden by"
                            + " listener.name.<inter-broker listener>.ssl.*); the certificate must name the host in"
                            + " controller.quorum.voters. All members must agree: a plaintext member cannot talk to a"
                            + " TLS quorum.")
            .define(METADATA_SNAPSHOT_INTERVAL_RECORDS, Type.LONG, 20_000L, atLeast(10), LOW,
                    "Metadata records between two snapshots; older log segments are removed once a snapshot has them.")
            .define(CLUSTER_MEMBERS, Type.LIST, "", HIGH,
                    "Hazelcast members to join, host:port each (TCP-IP join; multicast is off).")
            .define(BRIDGE_ENABLED, Type.BOOLEAN, true, MEDIUM,
                    "Serve the event-bus addresses (produce, subscribe, metadata) to Vert.x applications.")
            .define(BRIDGE_ADDRESS_PREFIX, Type.STRING, "runnel", new ConfigDef.NonEmptyString(), LOW,
                    "Prefix of the event-bus addresses: <prefix>.produce, <prefix>.subscribe, ...")
            .define(BRIDGE_TCP_LISTENER, Type.STRING, "", MEDIUM,
                    "host:port of the TCP event-bus bridge (vertx-tcp-eventbus-bridge's protocol: 4-byte length +"
                            + " JSON frames) for clients in any language; empty (default) = off. Port 0 picks a free"
                            + " port. Needs bridge.enabled.")
            .define(BRIDGE_SOCKJS_LISTENER, Type.STRING, "", MEDIUM,
                    "host:port of the SockJS event-bus bridge (vertx-web's) for browsers, an HTTP server of its"
                            + " own; empty (default) = off. Port 0 picks a free port. Needs bridge.enabled.")
            .define(BRIDGE_SOCKJS_PATH, Type.STRING, "/eventbus", MEDIUM,
                    "Path of the SockJS endpoint on bridge.sockjs.listener (the SockJS client library is served"
                            + " beside it, at /runnel/sockjs.min.js).")
            .define(BRIDGE_PERMITTED_ADDRESSES, Type.LIST, "produce,subscribe,heartbeat,commit,unsubscribe,metadata",
                    MEDIUM, "Which of the bridge addresses (under bridge.address.prefix) TCP and SockJS clients may"
                            + " send to; any of produce, subscribe, heartbeat, commit, unsubscribe, metadata.")
            .define(BRIDGE_AUTH_TOKEN, Type.PASSWORD, null, HIGH,
                    "Bearer token TCP and SockJS clients may send in every frame's headers.authorization"
                            + " (\"Bearer <token>\"); comma-separated for several. Clients may instead send"
                            + " \"Basic base64(user:password)\" checked against the broker's SCRAM users and the PLAIN"
                            + " users of its SASL listeners. A frame without valid credentials is refused.")
            .define(BRIDGE_AUTH_MAX_FAILURES, Type.INT, 3, between(1, 1000), MEDIUM,
                    "Refused frames (bad credentials or a forbidden address) after which a TCP or SockJS"
                            + " connection is closed.")
            .define(BRIDGE_MAX_FRAME_BYTES, Type.INT, 4 * 1024 * 1024, between(1024, 256 * 1024 * 1024), MEDIUM,
                    "Largest frame a TCP or SockJS bridge client may send; a larger one closes its connection.")
            .define(ADMIN_LISTENER, Type.STRING, "127.0.0.1:8080", MEDIUM,
                    "host:port of the admin HTTP API, web console and /metrics (port 0 picks a free port).")
            .define(ADMIN_AUTH_TOKEN, Type.PASSWORD, null, HIGH,
                    "Bearer token the admin HTTP API requires; without one it binds to loopback only.")
            .define(SASL_MECHANISM_INTER_BROKER_PROTOCOL, Type.STRING, SaslConfigs.DEFAULT_SASL_MECHANISM, MEDIUM,
                    "SASL mechanism brokers log in to each other's inter-broker listener with (PLAIN, SCRAM-SHA-256 or"
                            + " SCRAM-SHA-512), as the username and password of that listener's"
                            + " listener.name.<listener>.<mechanism>.sasl.jaas.config.")
            .define(BOOTSTRAP_SCRAM_USERS, Type.STRING, "", MEDIUM,
                    "SCRAM users to create when the metadata log has none of that name and mechanism, in the syntax of"
                            + " kafka-storage.sh format --add-scram, separated by spaces:"
                            + " SCRAM-SHA-512=[name=broker,password=broker-secret]. A SASL inter-broker listener's"
                            + " broker user needs one before replication can log in.")
            .define(SSL_ENGINE, Type.STRING, "auto", ConfigDef.CaseInsensitiveValidString.in("auto", "openssl", "jdk"),
                    LOW, "The TLS implementation of the TLS listeners, the inter-broker client, the admin API and the"
                            + " bridges: openssl (BoringSSL through Netty, a fraction of the JDK's CPU per byte), jdk"
                            + " (the JDK's SSLEngine, as Apache Kafka) or auto, openssl where its native library"
                            + " loads (Linux x86-64) and jdk elsewhere. listener.name.<listener>.runnel.ssl.engine"
                            + " overrides it per listener.")
            // ssl.keystore.*, ssl.truststore.*, ssl.enabled.protocols, ssl.cipher.suites, ... with Kafka's own
            // types and defaults; listener.name.<listener>.ssl.* overrides them per listener
            .withClientSslSupport();

    static {
        // sasl.oauthbearer.* (JWKS endpoint, expected audience and issuer, claim names, clock skew, ...) with
        // Kafka's own types and defaults, read by kafka-clients' OAuthBearerValidatorCallbackHandler
        ConfigDef client = new ConfigDef();
        SaslConfigs.addClientSaslSupport(client);
        client.configKeys().values().stream().filter(k -> k.name.startsWith("sasl.oauthbearer."))
                .forEach(DEF::define);
    }

    private final List<Listener> listeners;
    private final List<Listener> advertisedListeners;
    private final Listener interBrokerListener;
    /** Where the dynamic layers come from (the metadata image); none until the broker installs it. */
    private volatile Supplier<DynamicBrokerConfigs.Layers> dynamicSource = () -> DynamicBrokerConfigs.Layers.EMPTY;
    /** The last layers seen and the config they make, rebuilt when the image holds other maps. */
    private volatile Resolved resolved;

    private record Resolved(DynamicBrokerConfigs.Layers layers, BrokerConfig config) {
    }

    public BrokerConfig(Map<String, ?> props) {
        super(DEF, props, false);
        Map<String, SecurityProtocol> protocols = Listener.parseProtocolMap(LISTENER_SECURITY_PROTOCOL_MAP,
                getList(LISTENER_SECURITY_PROTOCOL_MAP));
        this.listeners = Listener.parseAll(LISTENERS, getList(LISTENERS), protocols, LISTENER_SECURITY_PROTOCOL_MAP);
        List<String> advertised = getList(ADVERTISED_LISTENERS);
        this.advertisedListeners = advertised == null ? listeners
                : Listener.parseAll(ADVERTISED_LISTENERS, advertised, protocols, LISTENER_SECURITY_PROTOCOL_MAP);
        for (Listener a : advertisedListeners) {
            if (listeners.stream().noneMatch(l -> l.name().equals(a.name()))) {
                throw new ConfigException(ADVERTISED_LISTENERS, advertised, "listener " + a.name()
                        + " is not among " + LISTENERS);
            }
        }
        this.interBrokerListener = resolveInterBrokerListener(props);
        int cleanerThreads = getInt(LOG_CLEANER_THREADS);
        if (cleanerThreads > 0 && getLong(LOG_CLEANER_DEDUPE_BUFFER_SIZE) / cleanerThreads < 1024 * 1024) {
            throw new ConfigException(LOG_CLEANER_DEDUPE_BUFFER_SIZE, getLong(LOG_CLEANER_DEDUPE_BUFFER_SIZE),
                    "must give each of the " + cleanerThreads + " " + LOG_CLEANER_THREADS + " at least 1 MiB");
        }
        Long queuedBytes = getLong(QUEUED_MAX_REQUEST_BYTES);
        if (queuedBytes != null && queuedBytes != -1 && queuedBytes < getInt(SOCKET_REQUEST_MAX_BYTES)) {
            // a frame between the two could never be read whole: its connection would stall, then be evicted
            throw new ConfigException(QUEUED_MAX_REQUEST_BYTES, queuedBytes,
                    "must be -1 or at least " + SOCKET_REQUEST_MAX_BYTES + " (" + getInt(SOCKET_REQUEST_MAX_BYTES) + ")");
        }
        logOpenFilesMax();
        if (getInt(GROUP_MIN_SESSION_TIMEOUT_MS) > getInt(GROUP_MAX_SESSION_TIMEOUT_MS)) {
            throw new ConfigException(GROUP_MIN_SESSION_TIMEOUT_MS, getInt(GROUP_MIN_SESSION_TIMEOUT_MS),
                    "must not exceed " + GROUP_MAX_SESSION_TIMEOUT_MS);
        }
    }

    /**
     * {@code log.open.files.max} resolved: the value given, or half the process's open-file limit for 0. A
     * value below {@link io.runnel.log.SegmentChannels#MIN_LIMIT} or above the process's limit stops start-up:
     * the node would fail with "Too many open files" instead of closing idle segment files.
     */
    public int logOpenFilesMax() {
        int configured = getInt(LOG_OPEN_FILES_MAX);
        if (configured == 0) {
            return io.runnel.log.SegmentChannels.defaultLimit();
        }
        if (configured < io.runnel.log.SegmentChannels.MIN_LIMIT) {
            throw new ConfigException(LOG_OPEN_FILES_MAX, configured,
                    "must be 0 (half the open-file limit) or at least " + io.runnel.log.SegmentChannels.MIN_LIMIT);
        }
        long processLimit = io.runnel.log.SegmentChannels.processFileLimit();
        if (processLimit > 0 && configured > processLimit) {
            throw new ConfigException(LOG_OPEN_FILES_MAX, configured, "exceeds this process's open-file limit ("
                    + processLimit + "); raise the limit (ulimit -n) or lower the value, which leaves room for sockets");
        }
        return configured;
    }

    /**
     * Installs where this broker's dynamic configs come from: the metadata image's current maps, read at
     * every {@link #current()}. The maps must be immutable and replaced (not changed) when they change, so
     * that an unchanged image costs no rebuild.
     */
    public void dynamicSource(Supplier<DynamicBrokerConfigs.Layers> source) {
        this.dynamicSource = source;
        this.resolved = null;
    }

    /** The dynamic overrides in force now (the cluster default and this broker's own). Any thread. */
    public DynamicBrokerConfigs.Layers dynamicLayers() {
        return dynamicSource.get();
    }

    /**
     * The effective configuration: the properties this broker started with, overlaid by the dynamic cluster
     * default, overlaid by this broker's dynamic overrides (Kafka's DynamicBrokerConfig), so synonyms resolve
     * as at start-up (a static log.retention.ms still beats a dynamic log.retention.hours). {@code this} when
     * there are no dynamic configs. Any thread.
     */
    public BrokerConfig current() {
        DynamicBrokerConfigs.Layers layers = dynamicSource.get();
        Resolved r = resolved;
        if (r != null && r.layers().clusterDefault() == layers.clusterDefault() && r.layers().node() == layers.node()) {
            return r.config();
        }
        BrokerConfig c = this;
        if (!layers.isEmpty()) {
            Map<String, Object> merged = new HashMap<>(originals());
            merged.putAll(layers.clusterDefault());
            merged.putAll(layers.node());
            c = new BrokerConfig(merged);
        }
        resolved = new Resolved(layers, c);
        return c;
    }

    public int nodeId() {
        return getInt(NODE_ID);
    }

    public String clusterId() {
        return getString(CLUSTER_ID);
    }

    public List<Listener> listeners() {
        return listeners;
    }

    /**
     * The listener brokers reach each other on: the one named by inter.broker.listener.name, else the one named
     * after security.inter.broker.protocol (PLAINTEXT by default), as in Kafka.
     */
    public Listener interBrokerListener() {
        return interBrokerListener;
    }

    private Listener resolveInterBrokerListener(Map<String, ?> props) {
        String byName = getString(INTER_BROKER_LISTENER_NAME);
        if (byName != null && props.containsKey(SECURITY_INTER_BROKER_PROTOCOL)) {
            throw new ConfigException(INTER_BROKER_LISTENER_NAME, byName, "only one of " + INTER_BROKER_LISTENER_NAME
                    + " and " + SECURITY_INTER_BROKER_PROTOCOL + " may be set");
        }
        String key = byName != null ? INTER_BROKER_LISTENER_NAME : SECURITY_INTER_BROKER_PROTOCOL;
        String name = (byName != null ? byName : getString(SECURITY_INTER_BROKER_PROTOCOL)).toUpperCase(java.util.Locale.ROOT);
        return listeners.stream().filter(l -> l.name().equals(name)).findFirst().orElseThrow(() ->
                new ConfigException(key, name, "must name one of the listeners " + listeners.stream().map(Listener::name)
                        .toList() + " (set " + INTER_BROKER_LISTENER_NAME + " when there is no PLAINTEXT listener)"));
    }

    /** The advertised listener with the same name as {@code listener}, else the listener itself. */
    public Listener advertisedFor(Listener listener) {
        return advertisedListeners.stream().filter(a -> a.name().equals(listener.name())).findFirst().orElse(listener);
    }

    /** Hazelcast members to join as host:port strings, in the configured order. */
    public List<String> clusterMembers() {
        List<String> members = getList(CLUSTER_MEMBERS);
        return members == null ? List.of() : members.stream().map(String::trim).filter(m -> !m.isEmpty()).toList();
    }

    public List<String> logDirs() {
        List<String> dirs = getList(LOG_DIRS);
        return dirs == null || dirs.isEmpty() ? List.of(getString(LOG_DIR)) : dirs;
    }

    /**
     * The request memory budget in bytes ({@link Long#MAX_VALUE} for -1). Unset, a quarter of the JVM's max direct
     * memory (where the frames live: -XX:MaxDirectMemorySize, by default the max heap), at least
     * socket.request.max.bytes: that leaves three quarters to read buffers, responses and replication, so that
     * clients that declare large frames and trickle them stop being read at the limit instead of driving
     * direct memory to an OutOfMemoryError (with a 512 MiB heap: a 128 MiB budget).
     */
    public long queuedMaxRequestBytes() {
        Long configured = getLong(QUEUED_MAX_REQUEST_BYTES);
        if (configured != null) {
            return configured == -1 ? Long.MAX_VALUE : configured;
        }
        // Netty's reading of the direct memory limit, the one its allocator enforces
        return Math.max(io.netty.util.internal.PlatformDependent.maxDirectMemory() / 4, getInt(SOCKET_REQUEST_MAX_BYTES));
    }

    /** connections.max.idle.ms for Vert.x's idle timeout, where 0 (not -1) means never. */
    public long connectionsMaxIdleMs() {
        long ms = getLong(CONNECTIONS_MAX_IDLE_MS);
        return ms < 0 ? 0 : ms;
    }

    private static ConfigDef.Validator minusOneOrPositive() {
        return ConfigDef.LambdaValidator.with((name, value) -> {
            if (value != null && ((Number) value).longValue() != -1 && ((Number) value).longValue() < 1) {
                throw new ConfigException(name, value, "must be -1 or positive");
            }
        }, () -> "-1 or [1,...]");
    }

    public long retentionMs() {
        Long ms = getLong(LOG_RETENTION_MS);
        if (ms != null) {
            return ms < 0 ? -1 : ms;
        }
        Integer minutes = getInt(LOG_RETENTION_MINUTES);
        if (minutes != null) {
            return minutes < 0 ? -1 : minutes * 60_000L;
        }
        int hours = getInt(LOG_RETENTION_HOURS);
        return hours < 0 ? -1 : hours * 3_600_000L;
    }

    public long rollMs() {
        Long ms = getLong(LOG_ROLL_MS);
        return ms != null ? ms : getInt(LOG_ROLL_HOURS) * 3_600_000L;
    }

    public long flushIntervalMs() {
        Long ms = getLong(LOG_FLUSH_INTERVAL_MS);
        return ms != null ? ms : getLong(LOG_FLUSH_SCHEDULER_INTERVAL_MS);
    }

    /** The log cleaner's settings. */
    public CleanerConfig cleanerConfig() {
        return new CleanerConfig(getBoolean(LOG_CLEANER_ENABLE), getInt(LOG_CLEANER_THREADS),
                getLong(LOG_CLEANER_DEDUPE_BUFFER_SIZE), getInt(LOG_CLEANER_IO_BUFFER_SIZE),
                getDouble(LOG_CLEANER_IO_MAX_BYTES_PER_SECOND), getLong(LOG_CLEANER_BACKOFF_MS));
    }

    public long offsetsRetentionMs() {
        return getInt(OFFSETS_RETENTION_MINUTES) * 60_000L;
    }

    /**
     * Broker-level values of topic configs, under the topic config names (retention.ms, ...), dynamic
     * configs included ({@link #current()}).
     */
    public Map<String, Object> topicDefaults() {
        BrokerConfig c = current();
        return c == this ? staticTopicDefaults() : c.staticTopicDefaults();
    }

    private Map<String, Object> staticTopicDefaults() {
        Map<String, Object> m = new HashMap<>();
        m.put(TopicConfig.RETENTION_MS_CONFIG, retentionMs());
        m.put(TopicConfig.RETENTION_BYTES_CONFIG, getLong(LOG_RETENTION_BYTES));
        m.put(TopicConfig.SEGMENT_BYTES_CONFIG, getInt(LOG_SEGMENT_BYTES));
        m.put(TopicConfig.SEGMENT_MS_CONFIG, rollMs());
        m.put(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, getInt(MESSAGE_MAX_BYTES));
        m.put(TopicConfig.CLEANUP_POLICY_CONFIG, getList(LOG_CLEANUP_POLICY));
        m.put(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, getInt(MIN_INSYNC_REPLICAS));
        m.put(TopicConfig.FLUSH_MESSAGES_INTERVAL_CONFIG, getLong(LOG_FLUSH_INTERVAL_MESSAGES));
        m.put(TopicConfig.FLUSH_MS_CONFIG, flushIntervalMs());
        m.put(TopicConfig.INDEX_INTERVAL_BYTES_CONFIG, getInt(LOG_INDEX_INTERVAL_BYTES));
        m.put(TopicConfig.SEGMENT_INDEX_BYTES_CONFIG, getInt(LOG_INDEX_SIZE_MAX_BYTES));
        m.put(TopicConfig.FILE_DELETE_DELAY_MS_CONFIG, getLong(LOG_SEGMENT_DELETE_DELAY_MS));
        m.put(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, getString(LOG_MESSAGE_TIMESTAMP_TYPE));
        m.put(TopicConfig.MESSAGE_TIMESTAMP_BEFORE_MAX_MS_CONFIG, getLong(LOG_MESSAGE_TIMESTAMP_BEFORE_MAX_MS));
        m.put(TopicConfig.MESSAGE_TIMESTAMP_AFTER_MAX_MS_CONFIG, getLong(LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS));
        m.put(TopicConfig.COMPRESSION_TYPE_CONFIG, getString(COMPRESSION_TYPE));
        m.put(TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE_CONFIG, getBoolean(UNCLEAN_LEADER_ELECTION_ENABLE));
        m.put(TopicConfig.DELETE_RETENTION_MS_CONFIG, getLong(LOG_CLEANER_DELETE_RETENTION_MS));
        m.put(TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, getLong(LOG_CLEANER_MIN_COMPACTION_LAG_MS));
        m.put(TopicConfig.MAX_COMPACTION_LAG_MS_CONFIG, getLong(LOG_CLEANER_MAX_COMPACTION_LAG_MS));
        m.put(TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, getDouble(LOG_CLEANER_MIN_CLEANABLE_RATIO));
        m.put(TopicConfig.PREALLOCATE_CONFIG, getBoolean(LOG_PREALLOCATE));
        m.put(TopicConfig.SEGMENT_JITTER_MS_CONFIG, getLong(LOG_ROLL_JITTER_MS));
        m.put(TopicConfig.LOCAL_LOG_RETENTION_MS_CONFIG, getLong(LOG_LOCAL_RETENTION_MS));
        m.put(TopicConfig.LOCAL_LOG_RETENTION_BYTES_CONFIG, getLong(LOG_LOCAL_RETENTION_BYTES));
        m.put(TopicConfig.COMPRESSION_GZIP_LEVEL_CONFIG, getInt(COMPRESSION_GZIP_LEVEL));
        m.put(TopicConfig.COMPRESSION_LZ4_LEVEL_CONFIG, getInt(COMPRESSION_LZ4_LEVEL));
        m.put(TopicConfig.COMPRESSION_ZSTD_LEVEL_CONFIG, getInt(COMPRESSION_ZSTD_LEVEL));
        // topic-only configs without a broker property
        m.put(TopicConfig.REMOTE_LOG_STORAGE_ENABLE_CONFIG, false);
        m.put(TopicConfig.REMOTE_LOG_COPY_DISABLE_CONFIG, false);
        m.put(TopicConfig.REMOTE_LOG_DELETE_ON_DISABLE_CONFIG, false);
        m.put("leader.replication.throttled.replicas", List.of());
        m.put("follower.replication.throttled.replicas", List.of());
        return m;
    }

    /** The broker property each topic config takes its default from (DescribeConfigs synonyms). */
    public static final Map<String, String> TOPIC_CONFIG_SYNONYMS = Map.ofEntries(
            Map.entry(TopicConfig.RETENTION_MS_CONFIG, LOG_RETENTION_MS),
            Map.entry(TopicConfig.RETENTION_BYTES_CONFIG, LOG_RETENTION_BYTES),
            Map.entry(TopicConfig.SEGMENT_BYTES_CONFIG, LOG_SEGMENT_BYTES),
            Map.entry(TopicConfig.SEGMENT_MS_CONFIG, LOG_ROLL_MS),
            Map.entry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, MESSAGE_MAX_BYTES),
            Map.entry(TopicConfig.CLEANUP_POLICY_CONFIG, LOG_CLEANUP_POLICY),
            Map.entry(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, MIN_INSYNC_REPLICAS),
            Map.entry(TopicConfig.FLUSH_MESSAGES_INTERVAL_CONFIG, LOG_FLUSH_INTERVAL_MESSAGES),
            Map.entry(TopicConfig.FLUSH_MS_CONFIG, LOG_FLUSH_INTERVAL_MS),
            Map.entry(TopicConfig.INDEX_INTERVAL_BYTES_CONFIG, LOG_INDEX_INTERVAL_BYTES),
            Map.entry(TopicConfig.SEGMENT_INDEX_BYTES_CONFIG, LOG_INDEX_SIZE_MAX_BYTES),
            Map.entry(TopicConfig.FILE_DELETE_DELAY_MS_CONFIG, LOG_SEGMENT_DELETE_DELAY_MS),
            Map.entry(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, LOG_MESSAGE_TIMESTAMP_TYPE),
            Map.entry(TopicConfig.MESSAGE_TIMESTAMP_BEFORE_MAX_MS_CONFIG, LOG_MESSAGE_TIMESTAMP_BEFORE_MAX_MS),
            Map.entry(TopicConfig.MESSAGE_TIMESTAMP_AFTER_MAX_MS_CONFIG, LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS),
            Map.entry(TopicConfig.COMPRESSION_TYPE_CONFIG, COMPRESSION_TYPE),
            Map.entry(TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE_CONFIG, UNCLEAN_LEADER_ELECTION_ENABLE),
            Map.entry(TopicConfig.DELETE_RETENTION_MS_CONFIG, LOG_CLEANER_DELETE_RETENTION_MS),
            Map.entry(TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, LOG_CLEANER_MIN_COMPACTION_LAG_MS),
            Map.entry(TopicConfig.MAX_COMPACTION_LAG_MS_CONFIG, LOG_CLEANER_MAX_COMPACTION_LAG_MS),
            Map.entry(TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, LOG_CLEANER_MIN_CLEANABLE_RATIO),
            Map.entry(TopicConfig.PREALLOCATE_CONFIG, LOG_PREALLOCATE),
            Map.entry(TopicConfig.SEGMENT_JITTER_MS_CONFIG, LOG_ROLL_JITTER_MS),
            Map.entry(TopicConfig.LOCAL_LOG_RETENTION_MS_CONFIG, LOG_LOCAL_RETENTION_MS),
            Map.entry(TopicConfig.LOCAL_LOG_RETENTION_BYTES_CONFIG, LOG_LOCAL_RETENTION_BYTES),
            Map.entry(TopicConfig.COMPRESSION_GZIP_LEVEL_CONFIG, COMPRESSION_GZIP_LEVEL),
            Map.entry(TopicConfig.COMPRESSION_LZ4_LEVEL_CONFIG, COMPRESSION_LZ4_LEVEL),
            Map.entry(TopicConfig.COMPRESSION_ZSTD_LEVEL_CONFIG, COMPRESSION_ZSTD_LEVEL));

    static long days(int n) {
        return n * DAY_MS;
    }
}
