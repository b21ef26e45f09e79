package io.runnel;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.runnel.admin.AdminVerticle;
import io.runnel.api.AlterConfigsHandler;
import io.runnel.api.ApiVersionsHandler;
import io.runnel.api.CreatePartitionsHandler;
import io.runnel.api.DescribeLogDirsHandler;
import io.runnel.api.CreateTopicsHandler;
import io.runnel.api.DeleteGroupsHandler;
import io.runnel.api.DeleteRecordsHandler;
import io.runnel.api.DeleteTopicsHandler;
import io.runnel.api.DescribeClusterHandler;
import io.runnel.api.DescribeConfigsHandler;
import io.runnel.api.DescribeGroupsHandler;
import io.runnel.api.FindCoordinatorHandler;
import io.runnel.api.HeartbeatHandler;
import io.runnel.api.IncrementalAlterConfigsHandler;
import io.runnel.api.JoinGroupHandler;
import io.runnel.api.LeaveGroupHandler;
import io.runnel.api.ListGroupsHandler;
import io.runnel.api.OffsetCommitHandler;
import io.runnel.api.OffsetDeleteHandler;
import io.runnel.api.OffsetFetchHandler;
import io.runnel.api.SyncGroupHandler;
import io.runnel.api.FetchHandler;
import io.runnel.api.ReplicaFetchGuard;
import io.runnel.api.InitProducerIdHandler;
import io.runnel.api.ListOffsetsHandler;
import io.runnel.api.MetadataHandler;
import io.runnel.api.OffsetForLeaderEpochHandler;
import io.runnel.api.ProduceHandler;
import io.runnel.bridge.BridgeVerticle;
import io.runnel.cluster.BrokerDirectory;
import io.runnel.cluster.ClusterManagerFactory;
import io.runnel.cluster.ClusterView;
import io.runnel.cluster.HazelcastMembership;
import io.runnel.cluster.HostResolver;
import io.runnel.cluster.Membership;
import io.runnel.cluster.PartitionStateChanger;
import io.runnel.cluster.ProducerIdManager;
import io.runnel.metadata.MetadataFutures;
import io.runnel.metadata.MetadataImage;
import io.runnel.metadata.MetadataQuorum;
import io.runnel.metadata.MetadataRecords;
import io.runnel.metadata.MetadataStateMachine;
import io.runnel.metadata.MetadataView;
import io.runnel.metadata.OffsetsTopic;
import io.runnel.metadata.QuorumConfig;
import io.runnel.metadata.QuorumContact;
import io.runnel.metadata.QuorumController;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.config.Listener;
import io.runnel.group.GroupConfig;
import io.runnel.group.GroupCoordinator;
import io.runnel.group.ReplicatedOffsetsLog;
import io.runnel.metrics.BrokerMetrics;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.Replication;
import io.runnel.replication.ReplicaFetcherManager;
import io.runnel.protocol.ApiRegistry;
import io.runnel.protocol.Connections;
import io.runnel.security.ListenerSecurity;
import io.runnel.server.KafkaServerVerticle;
import io.runnel.server.ShardVerticle;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.KafkaStorageException;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Runnel node. Tests start one in-process with Kafka-style properties, for example
 * {@code Broker.start(Map.of("log.dirs", dir.toString(), "listeners", "PLAINTEXT://127.0.0.1:0"))}
 * (port 0 picks a free port; {@link #bootstrapServers()} tells which).
 */
public final class Broker {

    private static final Logger LOG = LoggerFactory.getLogger(Broker.class);
    /** The longest a cluster node waits to be unfenced before its Hazelcast member starts joining anyway. */
    static final long JOIN_DELAY_MAX_MS = 3000;
    /** Whether ApiVersions finalizes transaction.version 2 (KIP-890 part 2), as Kafka 4.4 does. */
    static final boolean ADVERTISE_TRANSACTION_V2 = true;

    private final BrokerConfig config;
    private final Vertx vertx;
    /** Starts the Vert.x instance of the Hazelcast member and the event bus (clustered in a cluster; see start). */
    private final Supplier<Future<Vertx>> joinCluster;
    private final Promise<Vertx> clusteredPromise = Promise.promise();
    /** That instance, once started: {@link #vertx} itself on a node that runs alone. */
    private final Future<Vertx> clustered = clusteredPromise.future();
    /** The bridge verticle's deployment on the clustered Vert.x, once deployed. */
    private volatile String bridgeDeployment;
    private volatile String externalBridgesDeployment;
    private boolean joining;
    private final List<FileLock> dirLocks;
    private final BrokerMetrics metrics;
    private final QuorumConfig quorumConfig;
    private final Uuid incarnation;
    private AdminVerticle admin;
    private final ClusterHooks hooks;
    private final MetadataQuorum quorum;
    private final CompletableFuture<Void> quorumStarted;
    private QuorumController controller;
    private BrokerMetadataPublisher publisher;
    private TopicManager topics;
    private Context metaContext;
    private PartitionManager partitions;
    private GroupCoordinator groups;
    private io.runnel.txn.TransactionCoordinator transactions;
    private io.runnel.txn.InterBrokerClient interBrokerClient;
    private io.runnel.txn.InterBrokerClient markerClient;
    private ReplicaFetcherManager fetchers;
    private String bootstrap;
    /** Each listener's TLS and SASL settings, in the order of {@code listeners}. */
    private List<ListenerSecurity> listenerSecurity;
    private io.runnel.bridge.ExternalBridgeSettings externalBridgeSettings;
    private volatile io.runnel.bridge.ExternalBridges externalBridges;
    private io.runnel.security.InterBrokerSecurity interBroker;
    private io.runnel.security.AdminSecurity adminSecurity;
    private io.runnel.security.AclAuthorizer authorizer;
    private io.runnel.metadata.ScramBootstrap scramBootstrap;
    /** Each listener's advertised host:port, by listener name (the real port where it asked for port 0). */
    private final Map<String, String> advertisedByListener = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean closed;

    private Broker(BrokerConfig config, QuorumConfig quorumConfig, Uuid incarnation, Vertx vertx,
                   Supplier<Future<Vertx>> joinCluster, List<FileLock> dirLocks, BrokerMetrics metrics,
                   ClusterHooks hooks, MetadataQuorum quorum, CompletableFuture<Void> quorumStarted) {
        this.config = config;
        this.quorumConfig = quorumConfig;
        this.incarnation = incarnation;
        this.vertx = vertx;
        this.joinCluster = joinCluster;
        this.dirLocks = dirLocks;
        this.metrics = metrics;
        this.hooks = hooks;
        this.quorum = quorum;
        this.quorumStarted = quorumStarted;
    }

    /** Starts a node; the properties override the embedded defaults. Fails on a bad config value. */
    public static Future<Broker> start(Map<String, String> properties) {
        return start(properties, null);
    }

    /**
     * Starts a node whose partition roles come from {@code hooks} (a test's controller, applied through
     * {@link #partitionManager()}) instead of the metadata log; {@code hooks} null is the normal case.
     */
    public static Future<Broker> start(Map<String, String> properties, ClusterHooks hooks) {
        BrokerConfig config;
        QuorumConfig quorumConfig;
        List<FileLock> locks;
        io.runnel.security.QuorumTls quorumTls;
        List<ListenerSecurity> listenerSecurity;
        io.runnel.bridge.ExternalBridgeSettings externalBridgeSettings;
        io.runnel.security.InterBrokerSecurity interBroker;
        io.runnel.security.AdminSecurity adminSecurity;
        io.runnel.metadata.ScramBootstrap scramBootstrap;
        MetadataImage image;
        Uuid incarnation = Uuid.randomUuid();
        try {
            config = new BrokerConfig(properties);
            quorumConfig = QuorumConfig.from(config);
            if (config.originals().containsKey(BrokerConfig.CLUSTER_SIZE)) {
                LOG.warn("{} is ignored: the metadata quorum is {}", BrokerConfig.CLUSTER_SIZE,
                        BrokerConfig.CONTROLLER_QUORUM_VOTERS);
            }
            image = new MetadataImage(overrides -> uncleanElectionAllowed(config, overrides));
            // SCRAM logins check the credentials of the metadata log, as this node's image holds them
            listenerSecurity = listenerSecurity(config, image.scram().cache());
            // how followers reach leaders: the inter-broker listener's TLS and SASL login, checked before start-up
            interBroker = io.runnel.security.InterBrokerSecurity.of(config);
            // the admin listener's admin.ssl.* stores, its HTTP Basic users those of the metadata log
            adminSecurity = io.runnel.security.AdminSecurity.of(config, image.scram().cache(), listenerSecurity);
            scramBootstrap = io.runnel.metadata.ScramBootstrap.parse(config.getString(BrokerConfig.BOOTSTRAP_SCRAM_USERS));
            authorizer(config, () -> io.runnel.security.AclIndex.EMPTY); // a bad setting stops start-up here
            externalBridgeSettings = io.runnel.bridge.ExternalBridgeSettings.of(config); // likewise
            quorumTls = io.runnel.security.QuorumTls.from(config); // likewise, naming the key
            locks = lockDirs(config);
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        // The Raft server needs no Vert.x: it reads its storage, binds its port and loads its classes (a third
        // of the node's) on a thread of its own while Vert.x starts and, in a cluster, Hazelcast joins.
        // the dynamic broker configs live in the metadata log: every effective config reads them from the image
        config.dynamicSource(() -> image.brokerLayers(config.nodeId()));
        MetadataQuorum quorum = new MetadataQuorum(quorumConfig, config.clusterId(), new MetadataStateMachine(image), quorumTls);
        CompletableFuture<Void> quorumStarted = startQuorum(config, quorumConfig, quorum);
        int cores = Runtime.getRuntime().availableProcessors();
        VertxOptions options = new VertxOptions()
                .setEventLoopPoolSize(Math.max(1, cores))
                .setWorkerPoolSize(Math.max(8, cores * 4))
                .setPreferNativeTransport(false)
                // tests lower these (see pom.xml) and fail on the checker's warnings
                .setMaxEventLoopExecuteTime(Long.getLong("runnel.vertx.maxEventLoopExecuteTimeMs", 2000))
                .setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS)
                .setBlockedThreadCheckInterval(Long.getLong("runnel.vertx.blockedThreadCheckIntervalMs", 1000))
                .setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS);
        // one registry per broker (tests run several in one JVM); Vert.x and JVM meters land in it too
        PrometheusMeterRegistry meterRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        MicrometerMetricsFactory metricsFactory = new MicrometerMetricsFactory(meterRegistry);
        boolean inCluster = config.getBoolean(BrokerConfig.CLUSTER_ENABLED);
        // JVM meters are bound by BrokerMetrics once the listener is up (bindJvmMetrics), not here
        MicrometerMetricsOptions brokerMetrics = new MicrometerMetricsOptions().setEnabled(true);
        if (inCluster) {
            brokerMetrics.addDisabledMetricsCategory(MetricsDomain.EVENT_BUS); // the clustered instance's
        }
        Vertx vertx = Vertx.builder().with(new VertxOptions(options).setMetricsOptions(brokerMetrics))
                .withMetrics(metricsFactory).build();
        // In a cluster, Hazelcast (membership, failure detection, the event bus) runs in a clustered Vert.x of
        // its own, which starts joining once this broker is unfenced (see boot): the Kafka path never waits for
        // Hazelcast, whose join is about two seconds of fixed waits and a second of CPU that a node starting
        // beside others needs for its Raft election and registration first. A node that runs alone never
        // loads Hazelcast.
        Supplier<Future<Vertx>> joinCluster;
        if (inCluster) {
            MicrometerMetricsOptions eventBusMetrics = new MicrometerMetricsOptions().setEnabled(true);
            for (MetricsDomain d : MetricsDomain.values()) {
                if (d != MetricsDomain.EVENT_BUS) {
                    eventBusMetrics.addDisabledMetricsCategory(d);
                }
            }
            // one event loop by default: the event bus's server connections all land on one loop of the instance,
            // and the bridge is one context; on the same loop, a request reaches the bridge, and its reply the
            // connection back, without a hand-off to another thread (two of the event-bus produce's wake-ups)
            VertxOptions clusterOptions = new VertxOptions(options).setMetricsOptions(eventBusMetrics)
                    .setEventLoopPoolSize(config.getInt(BrokerConfig.CLUSTER_EVENT_LOOP_THREADS))
                    .setWorkerPoolSize(Math.max(4, cores * 2));
            ClusterManagerFactory.Settings settings =
                    ClusterManagerFactory.Settings.from(config, incarnation.toString());
            try {
                ClusterManagerFactory.hazelcastConfig(settings); // a bad cluster setting stops start-up at once
            } catch (RuntimeException e) {
                return vertx.close().transform(v -> {
                    quorumStarted.whenComplete((x, t) -> {
                        quorum.close();
                        releaseLocks(locks);
                    });
                    return Future.failedFuture(e);
                });
            }
            joinCluster = () -> ClusterManagerFactory.startClustered(clusterOptions, metricsFactory, settings);
        } else {
            joinCluster = () -> Future.succeededFuture(vertx);
        }
        BrokerMetrics metrics = new BrokerMetrics(meterRegistry);
        metrics.startEventLoopProbe(vertx);
        metrics.segmentFiles(io.runnel.log.SegmentChannels.shared());
        Broker broker = new Broker(config, quorumConfig, incarnation, vertx, joinCluster, locks, metrics, hooks, quorum,
                quorumStarted);
        broker.listenerSecurity = listenerSecurity;
        broker.externalBridgeSettings = externalBridgeSettings;
        broker.interBroker = interBroker;
        broker.adminSecurity = adminSecurity;
        broker.scramBootstrap = scramBootstrap;
        return broker.boot().transform(ar -> {
            if (ar.succeeded()) {
                return Future.succeededFuture(broker);
            }
            return broker.close().transform(v -> Future.<Broker>failedFuture(ar.cause()));
        });
    }

    /** The authorizer authorizer.class.name asks for, null for none. */
    private static io.runnel.security.AclAuthorizer authorizer(BrokerConfig config,
                                                               Supplier<io.runnel.security.AclIndex> acls) {
        return io.runnel.security.AclAuthorizer.fromConfig(config.getString(BrokerConfig.AUTHORIZER_CLASS_NAME),
                config.getString(BrokerConfig.SUPER_USERS), config.getBoolean(BrokerConfig.ALLOW_EVERYONE_IF_NO_ACL_FOUND),
                acls);
    }

    private static List<FileLock> lockDirs(BrokerConfig config) {
        List<FileLock> locks = new ArrayList<>();
        for (String d : config.logDirs()) {
            Path dir = Path.of(d).toAbsolutePath();
            try {
                Files.createDirectories(dir);
                FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE);
                FileLock lock = ch.tryLock();
                if (lock == null) {
                    ch.close();
                    throw new KafkaStorageException("log directory " + dir
                            + " is in use by another process (.lock is held)");
                }
                locks.add(lock);
            } catch (IOException e) {
                throw new KafkaStorageException("cannot use log directory " + dir + ": " + e.getMessage(), e);
            }
        }
        return locks;
    }

    /** Starts the clustered Vert.x: once, and never after close (any thread). */
    private synchronized void joinCluster() {
        if (!joining && !closed) {
            joining = true;
            // building Hazelcast's member and a Vert.x instance takes a while: never on an event loop
            vertx.executeBlocking(joinCluster::get, false).compose(f -> f).onComplete(clusteredPromise);
        }
    }

    private Future<Void> boot() {
        int shardCount = config.getInt(BrokerConfig.LOG_SHARDS);
        if (shardCount == 0) {
            shardCount = Math.max(2, Runtime.getRuntime().availableProcessors());
        }
        List<Future<Context>> shardFutures = new ArrayList<>();
        for (int i = 0; i < shardCount + 1; i++) {
            shardFutures.add(workerContext());
        }
        MetadataStateMachine stateMachine = quorum.stateMachine();
        MetadataImage image = stateMachine.image();
        // brokers' registered hosts: who may fetch as a replica, and where this broker's followers connect from
        HostResolver hosts = new HostResolver(vertx, Time.SYSTEM, HostResolver.DEFAULT_TTL_MS);
        Future<Void> quorumUp = Future.fromCompletionStage(quorumStarted, vertx.getOrCreateContext());
        return Future.all(shardFutures).compose(all -> quorumUp).compose(up -> {
            MetadataView view = new MetadataView(quorum);
            PartitionStateChanger changer = hooks != null ? hooks.changer() : view;
            BrokerDirectory directory = hooks != null ? hooks.directory() : view;
            ClusterView clusterView = directory instanceof ClusterView cv ? cv : view;
            return ReplicaFetcherManager.start(vertx, config, directory, hosts, interBroker).map(fetchers -> {
                this.fetchers = fetchers;
                List<Context> contexts = new ArrayList<>();
                for (Future<Context> f : shardFutures) {
                    contexts.add(f.result());
                }
                metaContext = contexts.remove(contexts.size() - 1);
                partitions = new PartitionManager(vertx, config, contexts, Time.SYSTEM,
                        new Replication(config.nodeId(), changer, fetchers,
                                config.getLong(BrokerConfig.REPLICA_LAG_TIME_MAX_MS), vertx, Time.SYSTEM,
                                QuorumContact.start(vertx, quorum, config.getInt(BrokerConfig.BROKER_SESSION_TIMEOUT_MS))));
                publisher = new BrokerMetadataPublisher(metaContext, config.nodeId(), incarnation, quorum, partitions);
                // Kafka's JBOD: a failed log directory goes offline and the controller moves its leaderships;
                // the metadata log's directory, or the last one, halts the process as Kafka's broker does
                LogDirFailureHandler dirFailures = new LogDirFailureHandler(quorumConfig.storageDir().getParent(),
                        partitions::onlineLogDirs, publisher::reportLogDirOffline, () -> Runtime.getRuntime().halt(1));
                partitions.onLogDirOffline(dirFailures);
                stateMachine.onLogFailed(dirFailures::metadataLogFailed);
                stateMachine.listener(publisher);
                if (hooks == null) {
                    view.caughtUp(publisher::caughtUp);
                }
                return new Object[] {view, directory, clusterView};
            });
        }).compose(parts -> {
            MetadataView view = (MetadataView) parts[0];
            BrokerDirectory directory = (BrokerDirectory) parts[1];
            ClusterView clusterView = (ClusterView) parts[2];
            TopicManager topics = new TopicManager(config, quorum, publisher::awaitPublished);
            this.topics = topics;
            ProducerIdManager producerIds = new ProducerIdManager(metaContext, count -> quorum.propose(
                    MetadataRecords.allocateProducerIds(config.nodeId(), count)).thenApply(j -> j.getLong("first")));
            GroupConfig groupConfig = new GroupConfig(config.getInt(BrokerConfig.GROUP_INITIAL_REBALANCE_DELAY_MS),
                    config.getInt(BrokerConfig.GROUP_MIN_SESSION_TIMEOUT_MS),
                    config.getInt(BrokerConfig.GROUP_MAX_SESSION_TIMEOUT_MS), config.getInt(BrokerConfig.GROUP_MAX_SIZE),
                    config.offsetsRetentionMs(), config.getLong(BrokerConfig.OFFSETS_RETENTION_CHECK_INTERVAL_MS),
                    config.getInt(BrokerConfig.OFFSETS_TOPIC_NUM_PARTITIONS),
                    config.getInt(BrokerConfig.OFFSET_METADATA_MAX_BYTES));
            groups = new GroupCoordinator(vertx, groupConfig,
                    new ReplicatedOffsetsLog(partitions, config.getInt(BrokerConfig.OFFSETS_COMMIT_TIMEOUT_MS)),
                    tp -> {
                        io.runnel.cluster.TopicInfo t = topics.topic(tp.topic());
                        return t != null && tp.partition() >= 0 && tp.partition() < t.partitions();
                    }, Time.SYSTEM);
            // a group is coordinated where its offsets partition is led: load it there, drop it elsewhere
            partitions.addLeadershipListener((owner, leader) -> {
                if (owner.topicPartition().topic().equals(OffsetsTopic.NAME)) {
                    int p = owner.topicPartition().partition();
                    (leader ? groups.onElected(p) : groups.onResigned(p))
                            .onFailure(t -> LOG.error("Moving the groups of {} failed", owner.topicPartition(), t));
                }
            });
            OffsetsTopic offsetsTopic = new OffsetsTopic(config, topics,
                    () -> Math.max(quorumConfig.voters().size(), image.unfencedBrokers().size()));
            groups.partitionCountFrom(offsetsTopic::currentPartitions);
            io.runnel.txn.TransactionStateTopic transactionTopic = new io.runnel.txn.TransactionStateTopic(config,
                    topics, () -> Math.max(quorumConfig.voters().size(), image.unfencedBrokers().size()));
            ApiRegistry registry = new ApiRegistry(metrics);
            // transaction markers and the produce path's AddPartitionsToTxn go over the inter-broker listener,
            // logged in as replica fetchers are, each on connections of its own as Kafka's
            // TransactionMarkerChannelManager and AddPartitionsToTxnManager have: a connection answers in request
            // order, so an AddPartitionsToTxn waiting at the coordinator for a transaction's markers would hold
            // back the answer to the WriteTxnMarkers behind it (until the coordinator's wait ran out, ~1 s)
            int requestTimeoutMs = config.getInt(BrokerConfig.REQUEST_TIMEOUT_MS);
            interBrokerClient = new io.runnel.txn.InterBrokerClient(vertx, directory, fetchers::connect,
                    config.nodeId(), requestTimeoutMs);
            markerClient = new io.runnel.txn.InterBrokerClient(vertx, directory, fetchers::connect,
                    config.nodeId(), requestTimeoutMs);
            io.runnel.txn.TransactionMarkerSender markerSender = new io.runnel.txn.TransactionMarkerSender(vertx,
                    markerClient::send, clusterView, topic -> topics.topic(topic) != null, () -> {
                        io.runnel.api.ApiHandler<?> h = registry.handler(org.apache.kafka.common.protocol.ApiKeys
                                .WRITE_TXN_MARKERS);
                        return h == null ? 1 : h.maxVersion();
                    });
            io.runnel.txn.TransactionConfig txnConfig =
                    io.runnel.txn.TransactionConfig.from(config, io.runnel.api.ApiVersionsHandler.TRANSACTION_VERSION);
            transactions = new io.runnel.txn.TransactionCoordinator(vertx, txnConfig,
                    new io.runnel.txn.ReplicatedTransactionLog(partitions, txnConfig.appendTimeoutMs()),
                    producerIds::next, markerSender, Time.SYSTEM);
            transactions.partitionCountFrom(transactionTopic::currentPartitions);
            // a transactional id is coordinated where its __transaction_state partition is led
            partitions.addLeadershipListener((owner, leader) -> {
                if (owner.topicPartition().topic().equals(io.runnel.txn.TransactionStateTopic.NAME)) {
                    int p = owner.topicPartition().partition();
                    (leader ? transactions.onElected(p) : transactions.onResigned(p)).onFailure(t -> LOG.error(
                            "Moving the transactions of {} failed", owner.topicPartition(), t));
                }
            });
            metrics.bindPartitions(topics, partitions);
            io.runnel.security.CertificateReloader certificates =
                    new io.runnel.security.CertificateReloader(vertx, config, listenerSecurity, interBroker);
            if (publisher != null) {
                // stores altered before a restart are in the metadata log: served once this broker has read it
                publisher.ready().onSuccess(v -> certificates.apply(config.current()).onFailure(t -> LOG.error(
                        "The TLS stores of this broker's dynamic configs cannot be served; keeping the stores of"
                                + " the properties file", t)));
            }
            io.runnel.txn.TransactionVerifier txnVerifier = new io.runnel.txn.TransactionVerifier(
                    interBrokerClient::send, clusterView, transactions,
                    config.getBoolean(BrokerConfig.TRANSACTION_PARTITION_VERIFICATION_ENABLE));
            registry.register(new ApiVersionsHandler(registry, ADVERTISE_TRANSACTION_V2))
                    .register(new MetadataHandler(config, topics, partitions, directory, offsetsTopic))
                    .register(new ProduceHandler(topics, partitions, metrics, txnVerifier))
                    .register(new FetchHandler(vertx, topics, partitions,
                            new ReplicaFetchGuard(directory, hosts, Time.SYSTEM), metrics,
                            config.getInt(BrokerConfig.MAX_INCREMENTAL_FETCH_SESSION_CACHE_SLOTS)))
                    .register(new ListOffsetsHandler(topics, partitions))
                    .register(new OffsetForLeaderEpochHandler(topics, partitions))
                    .register(new io.runnel.api.WriteTxnMarkersHandler(partitions, groups::onTransactionCompleted,
                            requestTimeoutMs))
                    .register(new io.runnel.api.DescribeProducersHandler(topics, partitions))
                    .register(new InitProducerIdHandler(producerIds, transactions))
                    .register(new io.runnel.api.AddPartitionsToTxnHandler(transactions, topics))
                    .register(new io.runnel.api.AddOffsetsToTxnHandler(transactions, groups))
                    .register(new io.runnel.api.EndTxnHandler(transactions))
                    .register(new io.runnel.api.ListTransactionsHandler(transactions))
                    .register(new io.runnel.api.DescribeTransactionsHandler(transactions))
                    .register(new CreateTopicsHandler(config, topics))
                    .register(new DeleteTopicsHandler(config, topics))
                    .register(new CreatePartitionsHandler(config, topics))
                    .register(new DeleteRecordsHandler(config, topics, partitions))
                    .register(new DescribeLogDirsHandler(vertx, partitions))
                    .register(new DescribeConfigsHandler(config, topics))
                    .register(new AlterConfigsHandler(config, topics, certificates))
                    .register(new IncrementalAlterConfigsHandler(config, topics, certificates))
                    .register(new DescribeClusterHandler(config, clusterView))
                    .register(new FindCoordinatorHandler(groups, offsetsTopic, clusterView, transactions,
                            transactionTopic))
                    .register(new JoinGroupHandler(groups))
                    .register(new SyncGroupHandler(groups))
                    .register(new HeartbeatHandler(groups))
                    .register(new LeaveGroupHandler(groups))
                    .register(new OffsetCommitHandler(groups))
                    .register(new OffsetFetchHandler(groups))
                    .register(new io.runnel.api.TxnOffsetCommitHandler(groups, (ctx, request) -> {
                        // KIP-890: the group's offsets partition must be in the transaction; a version-2 client
                        // (v5) sent no AddOffsetsToTxn, so it is added here on its behalf
                        org.apache.kafka.common.TopicPartition offsets = new org.apache.kafka.common.TopicPartition(
                                OffsetsTopic.NAME, groups.partitionFor(request.groupId()));
                        short v = ctx.apiVersion();
                        return txnVerifier.ask(request.transactionalId(), request.producerId(),
                                request.producerEpoch(), offsets, v >= 5)
                                .map(e -> io.runnel.txn.TransactionVerifier.toTxnOffsetCommitError(e, v));
                    }))
                    .register(new OffsetDeleteHandler(groups))
                    .register(new DescribeGroupsHandler(groups))
                    .register(new ListGroupsHandler(groups))
                    .register(new DeleteGroupsHandler(groups))
                    .register(new io.runnel.api.SaslHandshakeHandler())
                    .register(new io.runnel.api.SaslAuthenticateHandler(
                            config.getInt(BrokerConfig.CONNECTION_FAILED_AUTHENTICATION_DELAY_MS)))
                    .register(new io.runnel.api.ScramCredentialsHandlers.Describe(image.scram()))
                    .register(new io.runnel.api.ScramCredentialsHandlers.Alter(record -> MetadataFutures.on(
                            io.vertx.core.Vertx.currentContext(), quorum.propose(record))));
            registry.register(new io.runnel.api.ClientQuotaHandlers.Describe(image.clientQuotas()))
                    .register(new io.runnel.api.ClientQuotaHandlers.Alter(record -> MetadataFutures.on(
                            io.vertx.core.Vertx.currentContext(), quorum.propose(record))));
            io.runnel.quota.ClientQuotas clientQuotas = new io.runnel.quota.ClientQuotas(
                    config.getInt(BrokerConfig.QUOTA_WINDOW_NUM),
                    config.getInt(BrokerConfig.QUOTA_WINDOW_SIZE_SECONDS) * 1000L, image.clientQuotas()::all);
            registry.quotas(clientQuotas);
            metrics.bindQuotas(clientQuotas);
            vertx.setPeriodic(60_000, id -> clientQuotas.expireIdle(System.currentTimeMillis()));
            io.runnel.security.AclAuthorizer authorizer = authorizer(config, image::acls);
            if (authorizer == null) {
                registry.register(new io.runnel.api.AclsWithoutAuthorizerHandlers.Describe())
                        .register(new io.runnel.api.AclsWithoutAuthorizerHandlers.Create())
                        .register(new io.runnel.api.AclsWithoutAuthorizerHandlers.Delete());
            } else {
                registry.authorizer(authorizer);
                this.authorizer = authorizer;
                io.runnel.api.AclHandlers.registerAll(registry, quorum);
            }
            if (quorumConfig.localVoter()) {
                controller = new QuorumController(metaContext, quorum, config.nodeId(), incarnation,
                        config.getInt(BrokerConfig.BROKER_SESSION_TIMEOUT_MS));
                publisher.controller(controller);
                // it goes by Hazelcast's membership once this node's member has joined (at once on a node that
                // runs alone); until then, by the quorum's silence alone
                clustered.onSuccess(v -> {
                    controller.start(membership(v));
                    if (quorum.isLeaderReady()) {
                        controller.leaderReady();
                    }
                });
            }
            boolean alone = quorumConfig.voters().size() == 1 && quorumConfig.localVoter();
            Future<Void> imported = alone && image.topics().isEmpty()
                    ? MetadataFutures.on(metaContext, io.runnel.metadata.LegacyMetadataImport.run(
                            Path.of(config.logDirs().get(0)).toAbsolutePath().resolve("__runnel_meta"), quorum,
                            config.nodeId()))
                    : Future.succeededFuture();
            return imported.compose(v -> hooks == null ? Future.<Void>succeededFuture() : openAllWithoutRoles(image))
                    .compose(v -> groups.startFollowingLeadership()).compose(v -> transactions.start())
                    .compose(v -> {
                partitions.startBackgroundTasks();
                return listen(registry).compose(l -> {
                    if (hooks == null) {
                        String interBroker = advertisedByListener.get(config.interBrokerListener().name());
                        String host = interBroker.substring(0, interBroker.lastIndexOf(':'));
                        int port = Integer.parseInt(interBroker.substring(interBroker.lastIndexOf(':') + 1));
                        publisher.register(host, port, Map.copyOf(advertisedByListener));
                        // Hazelcast joins once this broker is unfenced, or after a while if that takes longer
                        // (its registration can wait for an older process of its node id to be fenced, which
                        // may take this process's membership)
                        publisher.ready().onComplete(ar -> joinCluster());
                        // the users that must exist before anyone can log in (kafka-storage.sh --add-scram's)
                        publisher.ready().compose(ready -> scramBootstrap.seed(image.scram(),
                                        work -> vertx.executeBlocking(work, false),
                                        record -> MetadataFutures.on(metaContext, quorum.propose(record))))
                                .onFailure(t -> LOG.warn("Cannot create the SCRAM users of {}: {}",
                                        BrokerConfig.BOOTSTRAP_SCRAM_USERS, t.toString()));
                        vertx.setTimer(JOIN_DELAY_MAX_MS, id -> joinCluster());
                    } else {
                        joinCluster();
                    }
                    // a quorum of one is always available: a single node serves its topics before it reports
                    // started; brokers of a larger quorum come up one by one and catch up as the quorum forms
                    return alone && hooks == null ? publisher.ready() : Future.<Void>succeededFuture();
                }).compose(l -> {
                    if (!alone) {
                        offsetsTopic.checkInBackground(vertx);
                        transactionTopic.checkInBackground(vertx);
                    }
                    return startAdmin(topics);
                }).compose(adminUp -> vertx.executeBlocking(() -> {
                    metrics.bindJvmMetrics();
                    return null;
                }, false));
            }).compose(v -> clustered).compose(eventBus -> config.getBoolean(BrokerConfig.BRIDGE_ENABLED)
                    ? eventBus.deployVerticle(new BridgeVerticle(config, topics, partitions, groups, offsetsTopic,
                            clusterView, producerIds)).onSuccess(id -> bridgeDeployment = id)
                            .compose(id -> deployExternalBridges(eventBus, image))
                    : Future.<Void>succeededFuture());
        });
    }

    /** The TCP and SockJS bridges, when bridge.tcp.listener or bridge.sockjs.listener asks for them. */
    private Future<Void> deployExternalBridges(Vertx eventBus, MetadataImage image) {
        if (!externalBridgeSettings.anyEnabled()) {
            return Future.succeededFuture();
        }
        io.runnel.bridge.ExternalBridges bridges = new io.runnel.bridge.ExternalBridges(externalBridgeSettings,
                new io.runnel.security.PasswordVerifier(listenerSecurity, image.scram().cache()), authorizer,
                topic -> image.topic(topic) != null);
        return eventBus.deployVerticle(bridges).map(id -> {
            externalBridges = bridges;
            externalBridgesDeployment = id;
            return null;
        });
    }

    /** With test hooks: every partition of the image is hosted here, without a role until the hooks give one. */
    private Future<Void> openAllWithoutRoles(MetadataImage image) {
        List<Future<?>> opens = new ArrayList<>();
        for (MetadataImage.TopicImage t : image.topics()) {
            for (int p = 0; p < t.partitions().size(); p++) {
                opens.add(partitions.open(new org.apache.kafka.common.TopicPartition(t.info().name(), p), t.info().id(),
                        t.info().configs()));
            }
        }
        return Future.all(opens).mapEmpty();
    }

    /** Failure detection: Hazelcast's members in a cluster; a node that runs alone is its own only member. */
    private Membership membership(Vertx clusteredVertx) {
        if (!config.getBoolean(BrokerConfig.CLUSTER_ENABLED)) {
            return Membership.local(config.nodeId(), incarnation);
        }
        com.hazelcast.core.HazelcastInstance hz = ((io.vertx.spi.cluster.hazelcast.HazelcastClusterManager)
                ((io.vertx.core.internal.VertxInternal) clusteredVertx).clusterManager()).getHazelcastInstance();
        return new HazelcastMembership(hz);
    }

    /** Starts {@code quorum} on a thread of its own; the future completes once it is started. */
    private static CompletableFuture<Void> startQuorum(BrokerConfig config, QuorumConfig quorumConfig,
                                                       MetadataQuorum quorum) {
        QuorumConfig.Voter self = quorumConfig.voters().stream().filter(v -> v.nodeId() == config.nodeId())
                .findFirst().orElse(null);
        CompletableFuture<Void> started = new CompletableFuture<>();
        Thread starter = new Thread(() -> {
            try {
                quorum.start(self != null ? self.host() : config.getString(BrokerConfig.CLUSTER_HOST),
                        self != null ? self.port() : 0);
                started.complete(null);
            } catch (Throwable t) {
                started.completeExceptionally(t);
            }
        }, "metadata-quorum-start");
        starter.setDaemon(true);
        starter.start();
        return started;
    }

    /**
     * The election rule of the metadata image: {@code overrides} already carry the cluster-wide dynamic
     * default (see MetadataImage), and below it only the properties file counts, never this broker's own
     * dynamic value, since every node must elect alike.
     */
    private static boolean uncleanElectionAllowed(BrokerConfig config, Map<String, String> overrides) {
        String topic = overrides.get(org.apache.kafka.common.config.TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE_CONFIG);
        return topic != null ? Boolean.parseBoolean(topic) : config.getBoolean(BrokerConfig.UNCLEAN_LEADER_ELECTION_ENABLE);
    }

    private Future<Context> workerContext() {
        ShardVerticle v = new ShardVerticle();
        return vertx.deployVerticle(v, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER))
                .map(id -> v.ownContext());
    }

    /**
     * Every listener's TLS and SASL settings, checked before anything starts (key stores are read here, on the
     * starting thread).
     */
    private static List<ListenerSecurity> listenerSecurity(BrokerConfig config,
                                                           org.apache.kafka.common.security.authenticator.CredentialCache scram) {
        List<ListenerSecurity> out = new ArrayList<>();
        try {
            for (Listener l : config.listeners()) {
                out.add(ListenerSecurity.of(config, l, scram));
            }
        } catch (RuntimeException e) {
            out.forEach(ListenerSecurity::close); // an OAuth listener's JWKS refresh thread
            throw e;
        }
        return out;
    }

    /**
     * Starts every listener, each once per event loop. The registered endpoint (what followers and the replica
     * fetch guard use) is the inter-broker listener's; {@link #bootstrapServers()} is the first listener's.
     */
    private Future<Void> listen(ApiRegistry registry) {
        Connections connections = new Connections(vertx, registry, config.getInt(BrokerConfig.SOCKET_REQUEST_MAX_BYTES),
                config.getInt(BrokerConfig.QUEUED_MAX_REQUESTS_PER_CONNECTION), config.queuedMaxRequestBytes(),
                config.getInt(BrokerConfig.MAX_CONNECTIONS), config.getInt(BrokerConfig.MAX_CONNECTIONS_PER_IP));
        Future<Void> chain = Future.succeededFuture();
        List<Listener> listeners = config.listeners();
        for (int i = 0; i < listeners.size(); i++) {
            Listener listener = listeners.get(i);
            ListenerSecurity security = listenerSecurity.get(i);
            // port 0 becomes a Vert.x shared random port (negative) so that every instance shares one socket;
            // each listener needs its own negative value, or two listeners would share one port
            Listener shared = listener.port() == 0 ? listener.withPort(-1 - i) : listener;
            chain = chain.compose(v -> listenOn(listener, shared, security, connections));
        }
        return chain.compose(v -> {
            bootstrap = advertisedByListener.get(listeners.get(0).name());
            return Future.<Void>succeededFuture();
        }).onSuccess(v -> LOG.info("Runnel node {} ready: Kafka listeners {}, log dirs {}", config.nodeId(),
                advertisedByListener, config.logDirs()));
    }

    private Future<Void> listenOn(Listener listener, Listener shared, ListenerSecurity security, Connections connections) {
        int instances = Math.max(1, Runtime.getRuntime().availableProcessors());
        Listener advertised = config.advertisedFor(listener);
        java.util.function.IntFunction<Node> node = actualPort -> new Node(config.nodeId(),
                advertisedHost(advertised.host()), advertised.port() == 0 ? actualPort : advertised.port());
        KafkaServerVerticle first = new KafkaServerVerticle(config, shared, connections, node, security);
        return vertx.deployVerticle(first).compose(id -> {
            Node self = node.apply(first.actualPort());
            advertisedByListener.put(listener.name(), self.host() + ":" + self.port());
            List<Future<String>> rest = new ArrayList<>();
            for (int i = 1; i < instances; i++) {
                rest.add(vertx.deployVerticle(new KafkaServerVerticle(config, shared, connections, node, security)));
            }
            return Future.all(rest).<Void>mapEmpty();
        });
    }

    private Future<Void> startAdmin(TopicManager topics) {
        admin = new AdminVerticle(config, topics, partitions, groups, metrics, () -> bootstrap, adminSecurity,
                authorizer).withTransactions(transactions);
        return vertx.deployVerticle(admin).<Void>mapEmpty();
    }

    private static String advertisedHost(String host) {
        if (!host.equals("0.0.0.0") && !host.equals("::")) {
            return host;
        }
        try {
            return InetAddress.getLocalHost().getCanonicalHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    /** The hosted partitions; a cluster member's partition states are applied here. */
    public PartitionManager partitionManager() {
        return partitions;
    }

    /** This node's meters (tests read the request memory and connection meters here). */
    public BrokerMetrics metrics() {
        return metrics;
    }

    public BrokerConfig config() {
        return config;
    }

    /** host:port of the first Kafka listener as clients should use it. */
    public String bootstrapServers() {
        return bootstrap;
    }

    /** host:port of the listener named {@code listenerName} as clients should use it; null if there is none. */
    public String bootstrapServers(String listenerName) {
        return advertisedByListener.get(listenerName.toUpperCase(java.util.Locale.ROOT));
    }

    /** The TCP event-bus bridge's port; -1 when it is off or not started yet. */
    public int tcpBridgePort() {
        io.runnel.bridge.ExternalBridges b = externalBridges;
        return b == null ? -1 : b.tcpPort();
    }

    /** The SockJS event-bus bridge's port; -1 when it is off or not started yet. */
    public int sockJsBridgePort() {
        io.runnel.bridge.ExternalBridges b = externalBridges;
        return b == null ? -1 : b.sockJsPort();
    }

    /** Port the admin HTTP API and console listen on (the real one when admin.listener asked for port 0). */
    public int adminPort() {
        return admin.actualPort();
    }

    /** Stops the listener, closes every log cleanly (clean-shutdown marker) and Vert.x. */
    public synchronized Future<Void> close() {
        if (closed) {
            return Future.succeededFuture();
        }
        closed = true;
        metrics.stop();
        // the bridge first: its subscriptions commit while this broker still coordinates their groups, and
        // are handed over (the group's next coordinator takes them over at their next heartbeat)
        // the TCP and SockJS bridges before it: their clients stop acknowledging before the handover
        String external = externalBridgesDeployment;
        Future<Void> externalStopped = external == null ? Future.succeededFuture()
                : clustered.compose(eventBus -> eventBus.undeploy(external)).otherwiseEmpty();
        String bridge = bridgeDeployment;
        Future<Void> bridgeStopped = externalStopped.compose(v -> bridge == null ? Future.<Void>succeededFuture()
                : clustered.compose(eventBus -> eventBus.undeploy(bridge)).otherwiseEmpty());
        Future<Void> fenced = bridgeStopped.compose(v -> publisher == null ? Future.succeededFuture()
                : publisher.shutdown());
        Future<Void> groupsClosed = fenced.compose(v -> groups == null ? Future.succeededFuture()
                : groups.close().otherwise(t -> {
                    LOG.error("Closing the group coordinator failed", t);
                    return null;
                }));
        Future<Void> txnsClosed = groupsClosed.compose(v -> transactions == null ? Future.succeededFuture()
                : transactions.close().otherwise(t -> {
                    LOG.error("Closing the transaction coordinator failed", t);
                    return null;
                })).compose(v -> interBrokerClient == null ? Future.succeededFuture()
                : interBrokerClient.close()).compose(v -> markerClient == null ? Future.succeededFuture()
                : markerClient.close());
        Future<Void> logs = txnsClosed.compose(v -> partitions == null ? Future.succeededFuture()
                : partitions.closeAll());
        return logs.transform(ar -> {
            if (ar.failed()) {
                LOG.error("Closing the logs failed", ar.cause());
            }
            if (controller != null) {
                controller.stop();
            }
            // a start that failed early may leave the Raft server starting: close it once it is up
            return Future.fromCompletionStage(quorumStarted.handle((v, t) -> (Void) null))
                    .compose(v -> vertx.executeBlocking(() -> {
                        quorum.close();
                        return null;
                    }, false));
        }).transform(ar -> closeClustered()).transform(ar -> vertx.close()).onComplete(ar -> {
            releaseLocks(dirLocks);
            if (listenerSecurity != null) {
                listenerSecurity.forEach(ListenerSecurity::close);
            }
        });
    }

    /** Leaves the cluster: closes the clustered Vert.x, once it has joined (or failed to). */
    private Future<Void> closeClustered() {
        if (!config.getBoolean(BrokerConfig.CLUSTER_ENABLED)) {
            return Future.succeededFuture();
        }
        synchronized (this) {
            if (!joining) {
                return Future.succeededFuture();
            }
        }
        return clustered.transform(ar -> ar.succeeded() ? ar.result().close() : Future.<Void>succeededFuture());
    }

    private static void releaseLocks(List<FileLock> locks) {
        for (FileLock lock : locks) {
            try {
                lock.release();
                lock.channel().close();
            } catch (IOException e) {
                LOG.warn("Cannot release {}", lock, e);
            }
        }
    }

    /** The node's Vert.x instance: the Kafka listener, the partitions, the admin API. Never clustered. */
    public Vertx vertx() {
        return vertx;
    }

    /**
     * The Vert.x instance whose event bus the bridge serves: with {@code cluster.enabled} the clustered one,
     * which joins Hazelcast beside {@link #vertx()} and completes once it has; otherwise {@link #vertx()}.
     */
    public Future<Vertx> eventBusVertx() {
        return clustered;
    }

    /** Blocking close for shutdown hooks and tests. */
    public void closeAndWait(long timeout, TimeUnit unit) throws Exception {
        close().toCompletionStage().toCompletableFuture().get(timeout, unit);
    }
}
