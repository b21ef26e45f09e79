package io.runnel.metrics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmCompilationMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmHeapPressureMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.runnel.cluster.TopicInfo;
import io.runnel.log.LogCleaner;
import io.runnel.log.LogCleanerManager;
import io.runnel.metadata.TopicManager;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's own meters over one {@link MeterRegistry} (names in {@link MeterNames}).
 *
 * <p>Hot-path cost: request meters sit in arrays indexed by API key and error meters in arrays indexed
 * by the error's ordinal, created on first use; per-topic meters are one map lookup per topic per
 * request; counting a batch is one increment per counter, never per record. Gauges over partitions and
 * groups are computed when Prometheus scrapes, not on the data path.
 *
 * <p>Threading: every method may be called from any thread (Micrometer meters are thread-safe, and two
 * racing first uses resolve to the same meter because the registry deduplicates by id).
 */
public final class BrokerMetrics {

    private static final Logger LOG = LoggerFactory.getLogger(BrokerMetrics.class);

    private static final Duration[] LATENCY_BUCKETS = {
        Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
        Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(30)};

    private final MeterRegistry registry;
    private final Counter[] requests = new Counter[ApiKeys.values().length];
    private final Timer[] latency = new Timer[ApiKeys.values().length];
    private final Counter[] produceErrors = new Counter[Errors.values().length];
    private final Counter[] fetchErrors = new Counter[Errors.values().length];
    private final Map<String, TopicMeters> topics = new ConcurrentHashMap<>();
    private final AtomicInteger activeConnections = new AtomicInteger();
    private final Counter connectionsOpened;
    private final Counter connectionsRefused;
    /** Held here because Micrometer holds a function meter's state object only weakly. */
    private final List<Object> functionStates = new ArrayList<>();
    private final Counter isrShrinks;
    private final Counter isrExpands;
    private final MultiGauge logSize;
    private final MultiGauge logStart;
    private final MultiGauge logEnd;
    private final MultiGauge groupLag;
    private final MultiGauge groupLagSum;
    private final MultiGauge cleanerDirtyRatio;
    private final MultiGauge cleanerTimeSinceLastClean;
    private final List<ScheduledFuture<?>> probes = new ArrayList<>();
    private final List<MeterBinder> jvmBinders = new ArrayList<>();

    /** The counters of one topic, resolved once and reused by every request that touches it. */
    public record TopicMeters(Counter bytesIn, Counter bytesOut, Counter recordsIn, Counter recordsOut) {
    }

    /** One partition's lag for a group: end offset (high watermark) minus the committed offset. */
    public record LagSample(String group, String topic, int partition, long lag) {
    }

    public BrokerMetrics(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder(MeterNames.CONNECTIONS_ACTIVE, activeConnections, AtomicInteger::get)
                .description("Open Kafka protocol connections").register(registry);
        connectionsOpened = Counter.builder(MeterNames.CONNECTIONS_OPENED)
                .description("Kafka protocol connections accepted").register(registry);
        connectionsRefused = Counter.builder(MeterNames.CONNECTIONS_REFUSED)
                .description("Kafka protocol connections closed at once: max.connections or max.connections.per.ip")
                .register(registry);
        isrShrinks = Counter.builder(MeterNames.ISR_SHRINKS).description("Replicas removed from an ISR")
                .register(registry);
        isrExpands = Counter.builder(MeterNames.ISR_EXPANDS).description("Replicas added to an ISR")
                .register(registry);
        logSize = MultiGauge.builder(MeterNames.LOG_SIZE).baseUnit("bytes")
                .description("Bytes of all segments of a hosted partition").register(registry);
        logStart = MultiGauge.builder(MeterNames.LOG_START_OFFSET).description("Log start offset").register(registry);
        logEnd = MultiGauge.builder(MeterNames.LOG_END_OFFSET).description("Log end offset").register(registry);
        groupLag = MultiGauge.builder(MeterNames.GROUP_LAG)
                .description("High watermark minus the group's committed offset").register(registry);
        groupLagSum = MultiGauge.builder(MeterNames.GROUP_LAG_SUM)
                .description("Lag of a group summed over its partitions").register(registry);
        cleanerDirtyRatio = MultiGauge.builder(MeterNames.LOG_CLEANER_DIRTY_RATIO)
                .description("Share of a compacted partition's log not cleaned yet (dirty over dirty plus clean bytes)")
                .register(registry);
        cleanerTimeSinceLastClean = MultiGauge.builder(MeterNames.LOG_CLEANER_TIME_SINCE_LAST_CLEAN).baseUnit("seconds")
                .description("Time since a compacted partition was last cleaned (absent until its first cleaning)")
                .register(registry);
    }

    /** Meters that count nothing anyone reads: for handlers built without a broker (unit tests). */
    public static BrokerMetrics noop() {
        return new BrokerMetrics(new CompositeMeterRegistry());
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** A Kafka request was answered; {@code startNanos} is {@link System#nanoTime()} at dispatch. */
    public void requestCompleted(ApiKeys api, long startNanos) {
        int i = api.ordinal();
        Counter c = requests[i];
        Timer t = latency[i];
        if (c == null || t == null) {
            c = Counter.builder(MeterNames.REQUESTS).tag(MeterNames.TAG_API, api.name())
                    .description("Kafka protocol requests served").register(registry);
            t = Timer.builder(MeterNames.REQUEST_LATENCY).tag(MeterNames.TAG_API, api.name())
                    .description("Time from dispatch to the handler's answer").serviceLevelObjectives(LATENCY_BUCKETS)
                    .register(registry);
            requests[i] = c;
            latency[i] = t;
        }
        c.increment();
        t.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    public void connectionOpened() {
        activeConnections.incrementAndGet();
        connectionsOpened.increment();
    }

    public void connectionClosed() {
        activeConnections.decrementAndGet();
    }

    public void connectionRefused() {
        connectionsRefused.increment();
    }

    /** Meters over the node's request memory budget (queued.max.request.bytes); called once per broker. */
    public void requestMemory(LongSupplier used, LongSupplier limit, LongSupplier evictions) {
        functionStates.addAll(List.of(used, limit, evictions));
        Gauge.builder(MeterNames.REQUEST_MEMORY_USED, used, s -> s.getAsLong()).baseUnit("bytes")
                .description("Bytes held by Kafka request frames, from their first byte until answered").register(registry);
        Gauge.builder(MeterNames.REQUEST_MEMORY_LIMIT, limit, s -> s.getAsLong()).baseUnit("bytes")
                .description("queued.max.request.bytes as resolved (Long.MAX_VALUE for no limit)").register(registry);
        FunctionCounter.builder(MeterNames.CONNECTIONS_EVICTED, evictions, s -> s.getAsLong())
                .description("Connections closed to free request memory: the least progress while the budget ran out")
                .register(registry);
    }

    /**
     * Meters over the segment files the process holds open (log.open.files.max); called once per broker. The set
     * is the process's: nodes sharing a JVM (tests) each show the same figures.
     */
    public void segmentFiles(io.runnel.log.SegmentChannels files) {
        Gauge.builder(MeterNames.LOG_OPEN_FILES, files, io.runnel.log.SegmentChannels::openFiles)
                .description("Segment (.log) files open now").register(registry);
        Gauge.builder(MeterNames.LOG_OPEN_FILES_LIMIT, files, io.runnel.log.SegmentChannels::limit)
                .description("log.open.files.max as resolved: open segment files beyond it are closed").register(registry);
        FunctionCounter.builder(MeterNames.LOG_OPEN_FILES_EVICTIONS, files, io.runnel.log.SegmentChannels::evictions)
                .description("Segment files closed to stay within log.open.files.max, reopened on their next use")
                .register(registry);
    }

    /** The incremental fetch sessions held, and those evicted to make room (Kafka's FetchSessionCache meters). */
    public void fetchSessions(java.util.function.IntSupplier sessions, java.util.function.LongSupplier evictions) {
        functionStates.addAll(List.of(sessions, evictions));
        Gauge.builder(MeterNames.FETCH_SESSIONS, sessions, java.util.function.IntSupplier::getAsInt)
                .description("Incremental fetch sessions (KIP-227) held for consumers and followers").register(registry);
        FunctionCounter.builder(MeterNames.FETCH_SESSION_EVICTIONS, evictions, java.util.function.LongSupplier::getAsLong)
                .description("Fetch sessions evicted to make room for new ones").register(registry);
    }

    public TopicMeters topic(String name) {
        TopicMeters m = topics.get(name);
        return m != null ? m : topics.computeIfAbsent(name, this::newTopicMeters);
    }

    private TopicMeters newTopicMeters(String name) {
        return new TopicMeters(
                Counter.builder(MeterNames.TOPIC_BYTES_IN).baseUnit("bytes").tag(MeterNames.TAG_TOPIC, name)
                        .description("Record batch bytes appended by producers").register(registry),
                Counter.builder(MeterNames.TOPIC_BYTES_OUT).baseUnit("bytes").tag(MeterNames.TAG_TOPIC, name)
                        .description("Record batch bytes sent to consumers").register(registry),
                Counter.builder(MeterNames.TOPIC_RECORDS_IN).tag(MeterNames.TAG_TOPIC, name)
                        .description("Records appended by producers").register(registry),
                Counter.builder(MeterNames.TOPIC_RECORDS_OUT).tag(MeterNames.TAG_TOPIC, name)
                        .description("Records read through the admin API and its live tail").register(registry));
    }

    /** Drops a deleted topic's meters so a scrape no longer shows them. */
    public void removeTopic(String name) {
        TopicMeters m = topics.remove(name);
        if (m != null) {
            registry.remove(m.bytesIn());
            registry.remove(m.bytesOut());
            registry.remove(m.recordsIn());
            registry.remove(m.recordsOut());
        }
    }

    public void produceError(short code) {
        countError(produceErrors, MeterNames.PRODUCE_ERRORS, code);
    }

    public void fetchError(short code) {
        countError(fetchErrors, MeterNames.FETCH_ERRORS, code);
    }

    private void countError(Counter[] counters, String name, short code) {
        Errors error = Errors.forCode(code);
        int i = error.ordinal();
        Counter c = counters[i];
        if (c == null) {
            c = Counter.builder(name).tag(MeterNames.TAG_ERROR, error.name()).register(registry);
            counters[i] = c;
        }
        c.increment();
    }

    /** Replication calls these when a follower leaves or joins an ISR led here. */
    public void isrShrink() {
        isrShrinks.increment();
    }

    public void isrExpand() {
        isrExpands.increment();
    }

    /**
     * Registers the partition-state gauges over what this node hosts: partitions it leads, led partitions
     * whose ISR is smaller than the replica set, and partitions of known topics that no node serves
     * (on one node: those without an open log).
     */
    public void bindPartitions(TopicManager topicManager, PartitionManager partitions) {
        Gauge.builder(MeterNames.PARTITIONS_LEADER, partitions, p -> p.all().stream().filter(o -> !o.isClosed()).count())
                .description("Partitions led by this broker").register(registry);
        Gauge.builder(MeterNames.PARTITIONS_UNDER_REPLICATED, partitions, p -> p.all().stream().filter(o -> {
            TopicInfo t = topicManager.topic(o.topicPartition().topic());
            return !o.isClosed() && t != null && o.isrSize() < t.replicationFactor();
        }).count()).description("Led partitions whose ISR is smaller than the replica set").register(registry);
        Gauge.builder(MeterNames.PARTITIONS_OFFLINE, partitions, p -> {
            long offline = 0;
            for (TopicInfo t : topicManager.topics()) {
                for (int i = 0; i < t.partitions(); i++) {
                    PartitionOwner o = p.get(new TopicPartition(t.name(), i));
                    if (o == null || o.isClosed()) {
                        offline++;
                    }
                }
            }
            return offline;
        }).description("Partitions without a live leader").register(registry);
        Gauge.builder(MeterNames.LOG_DIRS_OFFLINE, partitions, p -> p.failureChannel().offlineDirs().size())
                .description("Log directories taken offline by an I/O error (Kafka's OfflineLogDirectoryCount)")
                .register(registry);
        LogCleaner cleaner = partitions.cleaner();
        FunctionCounter.builder(MeterNames.LOG_CLEANER_RUNS, cleaner, LogCleaner::runs)
                .description("Cleanings of compacted logs completed").register(registry);
        FunctionCounter.builder(MeterNames.LOG_CLEANER_BYTES_READ, cleaner, LogCleaner::bytesRead).baseUnit("bytes")
                .description("Bytes of log segments the cleaner copied from").register(registry);
        FunctionCounter.builder(MeterNames.LOG_CLEANER_BYTES_WRITTEN, cleaner, LogCleaner::bytesWritten).baseUnit("bytes")
                .description("Bytes of cleaned segments the cleaner wrote").register(registry);
        FunctionCounter.builder(MeterNames.LOG_CLEANER_FAILURES, cleaner, LogCleaner::failures)
                .description("Cleanings that failed unexpectedly (the partition is then left uncleaned until restart)")
                .register(registry);
        Gauge.builder(MeterNames.LOG_CLEANER_TIME_SINCE_LAST_RUN, cleaner,
                        c -> c.lastRunMs() < 0 ? Double.NaN : (System.currentTimeMillis() - c.lastRunMs()) / 1000.0)
                .baseUnit("seconds").description("Time since the cleaner last completed a cleaning").register(registry);
    }

    private volatile io.runnel.quota.ClientQuotas quotas;
    private MultiGauge quotaRate;
    private MultiGauge quotaLimit;
    private final DistributionSummary[] throttleTime = new DistributionSummary[io.runnel.quota.QuotaType.values().length];

    /** Meters of the client quotas: throttle times as they are given, rates and limits re-listed at each scrape. */
    public void bindQuotas(io.runnel.quota.ClientQuotas q) {
        for (io.runnel.quota.QuotaType type : io.runnel.quota.QuotaType.values()) {
            throttleTime[type.ordinal()] = DistributionSummary.builder(MeterNames.QUOTA_THROTTLE_TIME)
                    .baseUnit("milliseconds").tag(MeterNames.TAG_QUOTA, type.name())
                    .description("Throttle time given to clients over a quota").register(registry);
        }
        quotaRate = MultiGauge.builder(MeterNames.QUOTA_RATE)
                .description("Measured rate of a quota: bytes/s, or percent of a thread for REQUEST").register(registry);
        quotaLimit = MultiGauge.builder(MeterNames.QUOTA_LIMIT)
                .description("The quota the rate is held to").register(registry);
        q.listener((type, ms) -> throttleTime[type.ordinal()].record(ms));
        quotas = q;
    }

    /** Re-lists the quota rate gauges (users and client ids come and go); called at each scrape. */
    public void refreshQuotas() {
        io.runnel.quota.ClientQuotas q = quotas;
        if (q == null) {
            return;
        }
        List<MultiGauge.Row<?>> rates = new ArrayList<>();
        List<MultiGauge.Row<?>> limits = new ArrayList<>();
        long now = System.currentTimeMillis();
        for (io.runnel.quota.QuotaType type : io.runnel.quota.QuotaType.values()) {
            q.of(type).forEachRate(now, (user, clientId, rate, limit) -> {
                Tags tags = Tags.of(MeterNames.TAG_QUOTA, type.name(), MeterNames.TAG_USER, user,
                        MeterNames.TAG_CLIENT_ID, clientId);
                rates.add(MultiGauge.Row.of(tags, rate));
                limits.add(MultiGauge.Row.of(tags, limit));
            });
        }
        quotaRate.register(rates, true);
        quotaLimit.register(limits, true);
    }

    /** Re-lists the per-partition gauges (partitions come and go); their values are read live at scrape. */
    public void refreshPartitions(PartitionManager partitions) {
        List<MultiGauge.Row<?>> size = new ArrayList<>();
        List<MultiGauge.Row<?>> start = new ArrayList<>();
        List<MultiGauge.Row<?>> end = new ArrayList<>();
        for (PartitionOwner o : partitions.all()) {
            Tags tags = Tags.of(MeterNames.TAG_TOPIC, o.topicPartition().topic(),
                    MeterNames.TAG_PARTITION, Integer.toString(o.topicPartition().partition()));
            size.add(MultiGauge.Row.of(tags, o, x -> x.log().sizeInBytes()));
            start.add(MultiGauge.Row.of(tags, o, x -> x.log().logStartOffset()));
            end.add(MultiGauge.Row.of(tags, o, x -> x.log().logEndOffset()));
        }
        logSize.register(size, true);
        logStart.register(start, true);
        logEnd.register(end, true);
        List<MultiGauge.Row<?>> dirty = new ArrayList<>();
        List<MultiGauge.Row<?>> sinceClean = new ArrayList<>();
        long now = System.currentTimeMillis();
        for (PartitionOwner o : partitions.all()) {
            LogCleanerManager.PartitionStats stats = partitions.cleaner().manager().stats(o.topicPartition());
            if (stats == null) {
                continue;
            }
            Tags tags = Tags.of(MeterNames.TAG_TOPIC, o.topicPartition().topic(),
                    MeterNames.TAG_PARTITION, Integer.toString(o.topicPartition().partition()));
            dirty.add(MultiGauge.Row.of(tags, stats.dirtyRatio()));
            if (stats.lastCleanMs() >= 0) {
                sinceClean.add(MultiGauge.Row.of(tags, (now - stats.lastCleanMs()) / 1000.0));
            }
        }
        cleanerDirtyRatio.register(dirty, true);
        cleanerTimeSinceLastClean.register(sinceClean, true);
    }

    /** Replaces the consumer-group lag gauges with a fresh computation. */
    public void updateLag(List<LagSample> samples) {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        Map<String, Long> sums = new java.util.TreeMap<>();
        for (LagSample s : samples) {
            rows.add(MultiGauge.Row.of(Tags.of(MeterNames.TAG_GROUP, s.group(), MeterNames.TAG_TOPIC, s.topic(),
                    MeterNames.TAG_PARTITION, Integer.toString(s.partition())), s.lag()));
            sums.merge(s.group(), s.lag(), Long::sum);
        }
        List<MultiGauge.Row<?>> sumRows = new ArrayList<>();
        sums.forEach((g, v) -> sumRows.add(MultiGauge.Row.of(Tags.of(MeterNames.TAG_GROUP, g), v)));
        groupLag.register(rows, true);
        groupLagSum.register(sumRows, true);
    }

    /**
     * Measures how late a 500 ms fixed-rate task runs on each event loop: a loop kept busy or blocked
     * delays it. The task runs on the loop itself and does nothing else.
     */
    public void startEventLoopProbe(Vertx vertx) {
        int index = 0;
        for (EventExecutor loop : ((VertxInternal) vertx).nettyEventLoopGroup()) {
            Timer delay = Timer.builder(MeterNames.EVENT_LOOP_DELAY).tag(MeterNames.TAG_LOOP, Integer.toString(index++))
                    .description("How late a periodic task ran on the event loop").register(registry);
            long periodNanos = TimeUnit.MILLISECONDS.toNanos(500);
            long[] expected = {System.nanoTime() + periodNanos};
            probes.add(loop.scheduleAtFixedRate(() -> {
                long now = System.nanoTime();
                delay.record(Math.max(0, now - expected[0]), TimeUnit.NANOSECONDS);
                expected[0] += periodNanos;
                if (now - expected[0] > periodNanos) {
                    // skipped runs after a long stall: measure from now on
                    expected[0] = now + periodNanos;
                }
            }, periodNanos, periodNanos, TimeUnit.NANOSECONDS));
        }
    }

    /**
     * Binds the JVM meters ({@code jvm_*}, {@code process_*}, {@code system_*}: the set Vert.x's
     * {@code jvmMetricsEnabled} binds). The broker calls it once its listener is up, as reading the
     * management beans for them costs some 50 ms that a client waiting for its first answer need not pay.
     * Any thread; once.
     */
    public synchronized void bindJvmMetrics() {
        if (!jvmBinders.isEmpty()) {
            return;
        }
        List<MeterBinder> binders = List.of(new ClassLoaderMetrics(), new JvmCompilationMetrics(), new JvmGcMetrics(),
                new JvmHeapPressureMetrics(), new JvmInfoMetrics(), new JvmMemoryMetrics(), new JvmThreadMetrics(),
                new ProcessorMetrics(), new UptimeMetrics());
        binders.forEach(b -> b.bindTo(registry));
        jvmBinders.addAll(binders);
    }

    public synchronized void stop() {
        probes.forEach(p -> p.cancel(false));
        probes.clear();
        // the GC and heap-pressure binders listen to the JVM's notifications until closed
        for (MeterBinder b : jvmBinders) {
            if (b instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.debug("Closing {} failed", b, e);
                }
            }
        }
        jvmBinders.clear();
    }
}
