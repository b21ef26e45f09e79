package io.runnel.partition;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.runnel.cluster.PartitionState;
import io.runnel.config.BrokerConfig;
import io.runnel.config.TopicConfigs;
import io.runnel.log.LogCleaner;
import io.runnel.log.LogDirCheckpoints;
import io.runnel.log.LogDirFailureChannel;
import io.runnel.log.PartitionLog;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.KafkaStorageException;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The partitions hosted on this node. Each partition is owned by one of a fixed set of worker contexts
 * (log shards), chosen by hash, so a partition's writes are serial and may wait on the disk without
 * touching an event loop. Also runs retention and time-based flush in the background, and writes each log
 * directory's recovery-point and log-start-offset checkpoints ({@link LogDirCheckpoints}) periodically and
 * at shutdown, as Kafka's LogManager. Standalone, each
 * partition is led by this node alone; in a cluster ({@link Replication} given) the controller's
 * {@link PartitionState}s assign roles through {@link #applyState}.
 *
 * <p>Log directories fail as in Kafka's JBOD: an I/O error in any log ({@link LogDirFailureChannel}) takes
 * its whole directory offline; every partition in it stops being hosted here (its logs' handles closed
 * without a flush, no checkpoint written there again) and is remembered as offline, so requests for it
 * answer KAFKA_STORAGE_ERROR and the controller's later states for it are not acted on until the process
 * restarts. New partitions go to the directories still online. The listener given to
 * {@link #onLogDirOffline} tells the controller and decides whether the process can go on.
 */
public final class PartitionManager {

    private static final Logger LOG = LoggerFactory.getLogger(PartitionManager.class);

    private final Vertx vertx;
    private final BrokerConfig config;
    private final List<Context> shards;
    private final Time time;
    private final Replication replication;
    private final List<Path> logDirs = new ArrayList<>();
    private final Map<TopicPartition, PartitionOwner> owners = new ConcurrentHashMap<>();
    private long retentionTimer = -1;
    private long flushTimer = -1;
    private long checkpointTimer = -1;
    private long recoveryPointTimer = -1;
    private long logStartTimer = -1;
    // per log directory, read on the first partition opened there
    private final Map<Path, LogDirCheckpoints> logDirCheckpoints = new ConcurrentHashMap<>();
    // log directories whose log-start-offset-checkpoint a DeleteRecords wants written soon
    private final java.util.Set<Path> logStartsChanged = ConcurrentHashMap.newKeySet();
    private final HighWatermarkCheckpoints checkpoints;
    private final LogCleaner cleaner;
    private final List<PartitionOwner.LeadershipListener> leadershipListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final LogDirFailureChannel failureChannel = new LogDirFailureChannel();
    /** A replica in an offline log directory. */
    private record OfflineReplica(Uuid topicId, Path logDir) {
    }

    // partitions of offline log directories: never served or reopened by this process
    private final Map<TopicPartition, OfflineReplica> offline = new ConcurrentHashMap<>();
    private volatile LogDirOfflineListener offlineListener = (dir, replicas) -> { };
    // per offline directory, completed once its logs are closed
    private final Map<Path, Promise<Void>> offlineDone = new ConcurrentHashMap<>();

    /** Told once per log directory that goes offline, with the replicas it held (topic id to partitions). */
    @FunctionalInterface
    public interface LogDirOfflineListener {
        /** Called on a worker context; must not block. */
        void onLogDirOffline(Path logDir, Map<Uuid, List<Integer>> replicas);
    }

    /** A standalone node: every partition opens as its only replica and leader. */
    public PartitionManager(Vertx vertx, BrokerConfig config, List<Context> shards, Time time) {
        this(vertx, config, shards, time, null);
    }

    /**
     * With {@code replication} (a cluster member), partitions open with no role and take one from
     * {@link #applyState}; without it, standalone.
     */
    public PartitionManager(Vertx vertx, BrokerConfig config, List<Context> shards, Time time, Replication replication) {
        // the bound is the process's (its descriptor limit is): nodes sharing a JVM (tests) share it
        io.runnel.log.SegmentChannels.shared().setLimit(config.logOpenFilesMax());
        this.replication = replication;
        this.vertx = vertx;
        this.config = config;
        this.shards = shards;
        this.time = time;
        this.checkpoints = new HighWatermarkCheckpoints(vertx, (dir, e) ->
                failureChannel.maybeAddOfflineLogDir(dir, "writing its high-watermark checkpoint", e));
        this.cleaner = new LogCleaner(config.cleanerConfig(), time);
        for (String d : config.logDirs()) {
            logDirs.add(Path.of(d).toAbsolutePath().normalize());
        }
        failureChannel.handler(dir -> vertx.runOnContext(v -> takeOffline(dir)));
    }

    /** Where the hosted logs report I/O errors; a directory reported there goes offline. */
    public LogDirFailureChannel failureChannel() {
        return failureChannel;
    }

    /** Sets what is told when a log directory goes offline (set once, before partitions open). */
    public void onLogDirOffline(LogDirOfflineListener listener) {
        this.offlineListener = listener;
    }

    /** The log directories not taken offline by an I/O error. */
    public List<Path> onlineLogDirs() {
        return logDirs.stream().filter(d -> !failureChannel.isOffline(d)).toList();
    }

    /** Whether {@code tp}'s replica here sat in a log directory that went offline. Any thread. */
    public boolean isOffline(TopicPartition tp) {
        return offline.containsKey(tp);
    }

    /**
     * The error for a request on a partition of a topic that exists but is not hosted here: Kafka's
     * KAFKA_STORAGE_ERROR when its replica is in an offline log directory, else NOT_LEADER_OR_FOLLOWER.
     */
    public Errors notHostedError(TopicPartition tp) {
        return isOffline(tp) ? Errors.KAFKA_STORAGE_ERROR : Errors.NOT_LEADER_OR_FOLLOWER;
    }

    /**
     * Takes log directory {@code dir} offline (Kafka's ReplicaManager.handleLogDirFailure), as an I/O error
     * there does: its partitions stop being hosted and become offline, followers stop fetching, leaders stop
     * leading (waiting produces fail), the cleaner lets them go, their logs' file handles are closed without
     * a flush, and the listener learns which replicas were there. Any thread; completes once the logs are
     * closed.
     */
    public Future<Void> handleLogDirFailure(Path dir) {
        Path logDir = dir.toAbsolutePath().normalize();
        Future<Void> done = offlineDone.computeIfAbsent(logDir, d -> Promise.promise()).future();
        failureChannel.maybeAddOfflineLogDir(logDir, "being taken offline",
                new java.io.IOException("log directory taken offline on request"));
        return done;
    }

    /** Called once per directory, by the failure channel's handler. */
    private void takeOffline(Path logDir) {
        Promise<Void> done = offlineDone.computeIfAbsent(logDir, d -> Promise.promise());
        logDirCheckpoints.remove(logDir);
        Map<Uuid, List<Integer>> replicas = new HashMap<>();
        List<PartitionOwner> gone = new ArrayList<>();
        for (PartitionOwner o : List.copyOf(owners.values())) {
            if (o.log().dir().getParent().equals(logDir) && owners.remove(o.topicPartition(), o)) {
                offline.put(o.topicPartition(), new OfflineReplica(idOf(o.topicId()), logDir));
                gone.add(o);
            }
        }
        // with those whose log failed to open there (recovery hit the error)
        List<String> names = new ArrayList<>();
        offline.forEach((tp, r) -> {
            if (r.logDir().equals(logDir)) {
                replicas.computeIfAbsent(r.topicId(), id -> new ArrayList<>()).add(tp.partition());
                names.add(tp.toString());
            }
        });
        java.util.Collections.sort(names);
        LOG.error("Log directory {} is offline: its {} partition(s) are no longer served by this broker {}", logDir,
                names.size(), names);
        try {
            offlineListener.onLogDirOffline(logDir, replicas);
        } catch (RuntimeException e) {
            LOG.error("Reporting log directory {} offline failed", logDir, e);
        }
        List<Future<Object>> closings = new ArrayList<>();
        for (PartitionOwner o : gone) {
            TopicPartition tp = o.topicPartition();
            closings.add(Future.fromCompletionStage(cleaner.unregister(tp)).transform(x -> o.submit(() -> {
                // waiting acks=all produces get Kafka's answer for a replica in an offline directory
                o.markClosed(new KafkaStorageException("The log directory " + logDir + " of " + tp + " is offline"));
                o.log().closeHandlersAfterFailure();
                return null;
            })).onFailure(t -> LOG.warn("Closing {} in offline log directory {} failed", tp, logDir, t)));
        }
        // a log that failed to close is offline all the same (logged above)
        Future.join(closings).onComplete(ar -> done.tryComplete());
    }

    /**
     * Tells {@code listener} whenever a hosted replica starts or stops leading, on the partition's
     * context (a standalone partition leads from the moment it opens; a deleted or closed one stops).
     * Add listeners before opening partitions.
     */
    public void addLeadershipListener(PartitionOwner.LeadershipListener listener) {
        leadershipListeners.add(listener);
    }

    private void notifyLeadership(PartitionOwner owner, boolean leader) {
        for (PartitionOwner.LeadershipListener l : leadershipListeners) {
            l.onLeadershipChange(owner, leader);
        }
    }

    /**
     * Whether this node has been out of touch with the metadata quorum for longer than broker.session.timeout.ms
     * (see {@link io.runnel.metadata.QuorumContact}); never on a standalone node. Any thread.
     */
    public boolean quorumContactLost() {
        return replication != null && replication.quorumContactLost().getAsBoolean();
    }

    /** The log cleaner compacting the hosted logs (its threads run from {@link #startBackgroundTasks}). */
    public LogCleaner cleaner() {
        return cleaner;
    }

    public List<Path> logDirs() {
        return logDirs;
    }

    public PartitionOwner get(TopicPartition tp) {
        return owners.get(tp);
    }

    public Collection<PartitionOwner> all() {
        return owners.values();
    }

    public Context shardFor(TopicPartition tp) {
        return shards.get(Math.floorMod(tp.hashCode(), shards.size()));
    }

    /** Where a partition's directory is: an existing one in any log dir, else the least loaded dir. */
    private Path dirFor(TopicPartition tp) {
        String name = tp.topic() + "-" + tp.partition();
        List<Path> online = onlineLogDirs();
        if (online.isEmpty()) {
            throw new KafkaStorageException("Every log directory of this broker is offline");
        }
        if (online.size() == 1) {
            return online.get(0).resolve(name);
        }
        for (Path d : online) {
            if (Files.isDirectory(d.resolve(name))) {
                return d.resolve(name);
            }
        }
        Path best = online.get(0);
        long bestCount = Long.MAX_VALUE;
        for (Path d : online) {
            long count = owners.values().stream().filter(o -> o.log().dir().startsWith(d)).count();
            if (count < bestCount) {
                best = d;
                bestCount = count;
            }
        }
        return best.resolve(name);
    }

    private static Uuid idOf(Uuid topicId) {
        return topicId == null ? Uuid.ZERO_UUID : topicId;
    }

    /** Opens (creating or recovering) a partition's log on its shard. */
    public Future<PartitionOwner> open(TopicPartition tp, Uuid topicId, Map<String, String> topicConfigs) {
        PartitionOwner existing = owners.get(tp);
        if (existing != null) {
            return Future.succeededFuture(existing);
        }
        OfflineReplica off = offline.get(tp);
        if (off != null && (topicId == null || off.topicId().equals(topicId))) {
            return Future.failedFuture(new KafkaStorageException("The replica of " + tp
                    + " on this broker is in an offline log directory"));
        }
        Context shard = shardFor(tp);
        Promise<PartitionOwner> promise = Promise.promise();
        shard.runOnContext(v -> {
            Path[] at = new Path[1];
            PartitionLog[] opened = new PartitionLog[1];
            try {
                PartitionOwner current = owners.get(tp);
                if (current != null) {
                    promise.complete(current);
                    return;
                }
                Path dir = dirFor(tp);
                at[0] = dir.getParent();
                Uuid recorded = PartitionMetadata.read(dir);
                if (recorded != null && topicId != null && !recorded.equals(topicId)) {
                    // data of a deleted topic that had the same name: never adopted
                    LOG.info("Removing {}: it belongs to topic id {}, not {}", dir, recorded, topicId);
                    PartitionMetadata.deleteRecursively(dir);
                }
                LogDirCheckpoints dirCheckpoints = logDirCheckpoints.computeIfAbsent(dir.getParent(), LogDirCheckpoints::new);
                PartitionLog log = PartitionLog.open(tp, dir, TopicConfigs.logConfig(topicConfigs, config), time,
                        dirCheckpoints);
                opened[0] = log;
                log.failureChannel(failureChannel);
                if (failureChannel.isOffline(dir.getParent())) {
                    throw new KafkaStorageException("The log directory of " + tp + " went offline while it opened");
                }
                if (topicId != null && !topicId.equals(recorded)) {
                    PartitionMetadata.write(dir, topicId);
                }
                int minIsr = TopicConfigs.minInsyncReplicas(topicConfigs, config);
                PartitionOwner owner = replication == null
                        ? new PartitionOwner(tp, topicId, shard, log, 0, minIsr, config.nodeId())
                        : new PartitionOwner(tp, topicId, shard, log, minIsr, replication,
                                checkpoints.take(dir.getParent(), tp));
                owner.leadershipListener(this::notifyLeadership);
                // the cleaner swaps cleaned segments in on the owner's context, never beyond the high watermark
                cleaner.register(log, task -> shard.runOnContext(x -> task.run()), owner::highWatermark);
                owners.put(tp, owner);
                if (owner.isLeader()) {
                    owner.leadershipChanged(true);
                }
                promise.complete(owner);
            } catch (Throwable t) {
                if (at[0] != null && (t instanceof java.io.IOException || t instanceof java.io.UncheckedIOException
                        || t instanceof KafkaStorageException)) {
                    // as Kafka's LogManager loading logs: an I/O error takes the directory offline, with this replica
                    if (opened[0] != null) {
                        opened[0].closeHandlersAfterFailure();
                    }
                    offline.put(tp, new OfflineReplica(idOf(topicId), at[0]));
                    failureChannel.maybeAddOfflineLogDir(at[0], "opening " + tp, t);
                    promise.fail(t instanceof KafkaStorageException ? t
                            : new KafkaStorageException("I/O error opening " + tp + " in " + at[0] + ": " + t.getMessage(), t));
                    return;
                }
                if (opened[0] != null) {
                    opened[0].closeHandlersAfterFailure();
                }
                promise.fail(t);
            }
        });
        return promise.future();
    }

    /**
     * Applies a partition state from the controller: opens the log if this node does not host it yet,
     * then makes the partition leader or follower per the state (states older than the one held are
     * ignored). Completes on the partition's context once the role is in place.
     */
    public Future<Void> applyState(TopicPartition tp, Uuid topicId, Map<String, String> topicConfigs,
                                   PartitionState state) {
        if (replication == null) {
            return Future.failedFuture(new IllegalStateException("a standalone node takes no partition states"));
        }
        return open(tp, topicId, topicConfigs).compose(owner -> owner.applyState(state));
    }

    /** Applies changed topic configs to every hosted partition of the topic. */
    public Future<Void> updateConfigs(String topic, Map<String, String> topicConfigs) {
        List<Future<Object>> all = new ArrayList<>();
        for (PartitionOwner o : owners.values()) {
            if (o.topicPartition().topic().equals(topic)) {
                all.add(o.submit(() -> {
                    o.log().updateConfig(TopicConfigs.logConfig(topicConfigs, config));
                    o.minInsyncReplicas(TopicConfigs.minInsyncReplicas(topicConfigs, config));
                    return null;
                }));
            }
        }
        // a topic just made compacted (or given a lower dirty ratio) is looked at now, not after the back-off
        return Future.all(all).onSuccess(v -> cleaner.wakeUp()).mapEmpty();
    }

    /** Stops hosting a partition and deletes its data. */
    public Future<Void> delete(TopicPartition tp) {
        // a replica in an offline directory: its data stay there untouched (Kafka deletes them when the
        // directory is back; here a restart's stray-directory scan does)
        offline.remove(tp);
        PartitionOwner owner = owners.remove(tp);
        if (owner == null) {
            return Future.succeededFuture();
        }
        checkpoints.forget(owner.log().dir().getParent(), tp);
        // no cleaner thread may still write .cleaned files into the directory about to go
        return Future.fromCompletionStage(cleaner.unregister(tp)).compose(stopped -> owner.submit(() -> {
            owner.markClosed();
            owner.log().delete();
            cleaner.forget(tp, owner.log().dir().getParent());
            return null;
        })).onSuccess(v -> {
            if (replication != null) {
                // without the deleted partition, at once (a failed write is logged and retried by the timer)
                checkpointHighWatermarks();
            }
        }).mapEmpty();
    }

    /**
     * Moves a partition's log start offset (DeleteRecords); returns the new low watermark. The log
     * directory's log-start-offset-checkpoint is written soon after (one write for a burst of them), not
     * only every log.flush.start.offset.checkpoint.interval.ms as Kafka, so that a crash rarely brings
     * deleted records back.
     */
    public Future<Long> deleteRecordsBefore(PartitionOwner owner, long offset) {
        return owner.submit(() -> {
            long start = owner.log().deleteRecordsBefore(offset);
            owner.afterLogChange();
            return start;
        }).onSuccess(start -> {
            if (logStartsChanged.add(owner.log().dir().getParent())) {
                writeLogDirCheckpoints(false, true, List.of(owner.log().dir().getParent()));
            }
        });
    }

    public void startBackgroundTasks() {
        long retentionInterval = config.getLong(BrokerConfig.LOG_RETENTION_CHECK_INTERVAL_MS);
        retentionTimer = vertx.setPeriodic(retentionInterval, id -> {
            for (PartitionOwner o : owners.values()) {
                o.submit(() -> {
                    int deleted = o.log().deleteExpiredSegments(o.highWatermark());
                    if (deleted > 0) {
                        o.afterLogChange();
                        LOG.info("Retention deleted {} segment(s) of {}", deleted, o.topicPartition());
                    }
                    return null;
                }).onFailure(t -> LOG.warn("Retention of {} failed", o.topicPartition(), t));
            }
        });
        if (replication != null) {
            // standalone, every partition's high watermark is its log end: there is nothing to keep
            checkpointTimer = vertx.setPeriodic(config.getLong(BrokerConfig.REPLICA_HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS),
                    id -> checkpointHighWatermarks());
        }
        recoveryPointTimer = vertx.setPeriodic(config.getLong(BrokerConfig.LOG_FLUSH_OFFSET_CHECKPOINT_INTERVAL_MS),
                id -> writeLogDirCheckpoints(true, false, List.copyOf(logDirCheckpoints.keySet())));
        logStartTimer = vertx.setPeriodic(config.getLong(BrokerConfig.LOG_FLUSH_START_OFFSET_CHECKPOINT_INTERVAL_MS),
                id -> writeLogDirCheckpoints(false, true, List.copyOf(logDirCheckpoints.keySet())));
        cleaner.startup();
        // flush.ms is checked every second; each log decides whether it is due
        flushTimer = vertx.setPeriodic(1000, id -> {
            for (PartitionOwner o : owners.values()) {
                if (o.log().config().flushMs() != Long.MAX_VALUE) {
                    o.submit(() -> o.log().flushIfNeeded())
                            .onFailure(t -> LOG.warn("Flush of {} failed", o.topicPartition(), t));
                }
            }
        });
    }

    /**
     * Writes every log directory's replication-offset-checkpoint with the hosted partitions' high
     * watermarks, off the event loop. Any thread.
     */
    public Future<Void> checkpointHighWatermarks() {
        Map<Path, Map<TopicPartition, Long>> hosted = new HashMap<>();
        for (PartitionOwner o : owners.values()) {
            if (!o.isClosed()) {
                hosted.computeIfAbsent(o.log().dir().getParent(), d -> new HashMap<>()).put(o.topicPartition(), o.highWatermark());
            }
        }
        return writeCheckpoints(hosted);
    }

    /**
     * Writes the recovery points and/or log start offsets of {@code dirs} on the worker pool, one write
     * after another (ordered); a failure is logged (the next one retries). Any thread.
     */
    private Future<Void> writeLogDirCheckpoints(boolean recoveryPoints, boolean logStarts, List<Path> dirs) {
        return vertx.executeBlocking(() -> {
            for (Path d : dirs) {
                LogDirCheckpoints c = logDirCheckpoints.get(d);
                if (logStarts) {
                    logStartsChanged.remove(d);
                }
                if (c == null || failureChannel.isOffline(d)) {
                    continue;
                }
                try {
                    if (recoveryPoints) {
                        c.writeRecoveryPoints();
                    }
                    if (logStarts) {
                        c.writeLogStartOffsets();
                    }
                } catch (java.io.IOException | java.io.UncheckedIOException e) {
                    // as Kafka's LogManager: a checkpoint that cannot be written takes its directory offline
                    failureChannel.maybeAddOfflineLogDir(d, "writing its offset checkpoints", e);
                }
            }
            return null;
        }).<Void>mapEmpty().onFailure(t -> LOG.warn("Writing the recovery-point or log-start-offset checkpoints failed", t));
    }

    private Future<Void> writeCheckpoints(Map<Path, Map<TopicPartition, Long>> hosted) {
        return checkpoints.write(onlineLogDirs(), hosted)
                .onFailure(t -> LOG.warn("Writing the high-watermark checkpoints failed", t));
    }

    /** Closes every log cleanly (flush, snapshots, clean-shutdown marker), then checkpoints the high watermarks. */
    public Future<Void> closeAll() {
        for (long timer : new long[] {retentionTimer, flushTimer, checkpointTimer, recoveryPointTimer, logStartTimer}) {
            if (timer >= 0) {
                vertx.cancelTimer(timer);
            }
        }
        Map<Path, Map<TopicPartition, Long>> last = new ConcurrentHashMap<>();
        List<Future<Object>> all = new ArrayList<>();
        // the cleaner threads stop (their cleanings aborted, .cleaned files removed) before the logs close
        Future<Void> cleanerStopped = vertx.executeBlocking(() -> {
            cleaner.shutdown();
            return null;
        }, false);
        for (PartitionOwner o : owners.values()) {
            all.add(cleanerStopped.transform(ar -> o.submit(() -> {
                o.markClosed();
                last.computeIfAbsent(o.log().dir().getParent(), d -> new ConcurrentHashMap<>())
                        .put(o.topicPartition(), o.highWatermark());
                o.log().close();
                return null;
            })));
        }
        owners.clear();
        // the closed logs' recovery points and log start offsets, as Kafka's LogManager writes them at shutdown
        Future<Void> closed = Future.join(all).transform(ar -> writeLogDirCheckpoints(true, true,
                List.copyOf(logDirCheckpoints.keySet())).transform(w -> ar.failed()
                ? Future.<Void>failedFuture(ar.cause()) : w.failed() ? Future.<Void>failedFuture(w.cause())
                : Future.<Void>succeededFuture()));
        if (replication == null) {
            return closed;
        }
        // the last high watermarks, as Kafka's ReplicaManager writes them at shutdown, even if a log failed to close
        return closed.transform(ar -> writeCheckpoints(last).transform(w -> ar.failed()
                ? Future.<Void>failedFuture(ar.cause()) : w.failed() ? Future.<Void>failedFuture(w.cause())
                : Future.<Void>succeededFuture()));
    }
}
