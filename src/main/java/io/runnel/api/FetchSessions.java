package io.runnel.api;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;

import io.runnel.protocol.WireRecords;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.FetchResponseData.FetchableTopicResponse;
import org.apache.kafka.common.message.FetchResponseData.PartitionData;
import org.apache.kafka.common.protocol.Errors;

/**
 * Incremental fetch sessions (KIP-227), as Kafka's FetchSessionCache keeps them: a client (consumer or follower)
 * that fetched all its partitions once with session epoch 0 gets a session id; its next fetches (epoch 1, 2, ...)
 * name only the partitions whose fetch position or limits changed, and forget the ones it stopped fetching; the
 * broker reads every partition of the session and answers only those with something new: records, a moved high
 * watermark or log start offset, an error, a diverging epoch. A partition that returned records moves to the end
 * of the session's order, so that under max_bytes every partition gets its turn. Epoch -1 closes the session
 * (a sessionless full fetch); a fetch with epoch 0 replaces the one it names.
 *
 * <p>Bounded by {@code max.incremental.fetch.session.cache.slots}: when full, a new session takes the slot of the
 * least recently used one that has been idle for {@code min.incremental.fetch.session.eviction.ms}, or that of a
 * consumer's session when the new one is a follower's (privileged, as Kafka ranks them); otherwise it is not
 * created and the client goes on with full fetches (session id 0), which every client handles.
 *
 * <p>Thread-safe: the cache takes its lock for lookups, creation and removal; a session's own state is guarded
 * by the session, taken when a fetch updates it (request) and when its answer is pruned (response), which may
 * happen on different event loops if the client reconnected in between.
 */
final class FetchSessions {

    /** The session id of a fetch without a session (FetchMetadata.INVALID_SESSION_ID). */
    static final int NO_SESSION = 0;
    /** The epoch of a fetch that creates a session (FetchMetadata.INITIAL_EPOCH). */
    static final int INITIAL_EPOCH = 0;
    /** The epoch of a fetch that closes its session, or uses none (FetchMetadata.FINAL_EPOCH). */
    static final int FINAL_EPOCH = -1;

    private final int maxSlots;
    private final long evictionMs;
    private final LongSupplier clock;
    // guarded by this; access order, so the eldest entry is the least recently used session
    private final LinkedHashMap<Integer, Session> sessions = new LinkedHashMap<>(16, 0.75f, true);
    private long evictions;

    FetchSessions(int maxSlots, long evictionMs, LongSupplier clock) {
        this.maxSlots = maxSlots;
        this.evictionMs = evictionMs;
        this.clock = clock;
    }

    /** Sessions held now (metrics, tests). */
    synchronized int size() {
        return sessions.size();
    }

    /** Sessions evicted to make room for new ones since start (metrics, tests). */
    synchronized long evictions() {
        return evictions;
    }

    /** The session with this id, marked as used now; null when there is none (never created, evicted, closed). */
    synchronized Session get(int id) {
        Session s = sessions.get(id);
        if (s != null) {
            s.lastUsedMs = clock.getAsLong();
        }
        return s;
    }

    synchronized void remove(int id) {
        sessions.remove(id);
    }

    /**
     * A new session of {@code partitions} (in the full fetch's order, their cached state taken from its answer);
     * returns its id, or {@link #NO_SESSION} when there is no room or nothing to fetch.
     */
    synchronized int create(boolean privileged, boolean usesTopicIds, List<Cached> partitions) {
        if (partitions.isEmpty() || maxSlots <= 0) {
            return NO_SESSION;
        }
        long now = clock.getAsLong();
        if (sessions.size() >= maxSlots && !evictOne(privileged, now)) {
            return NO_SESSION;
        }
        int id;
        do {
            id = ThreadLocalRandom.current().nextInt(1, Integer.MAX_VALUE);
        } while (sessions.containsKey(id));
        Session s = new Session(id, privileged, usesTopicIds, now);
        for (Cached c : partitions) {
            s.partitions.put(c.key, c);
        }
        sessions.put(id, s);
        return id;
    }

    // the least recently used session idle past the eviction time, else (for a follower's) a consumer's
    private boolean evictOne(boolean privileged, long now) {
        Integer victim = null;
        for (Map.Entry<Integer, Session> e : sessions.entrySet()) {
            Session s = e.getValue();
            if (now - s.lastUsedMs >= evictionMs) {
                victim = e.getKey();
                break;
            }
            if (victim == null && privileged && !s.privileged) {
                victim = e.getKey();
            }
        }
        if (victim == null) {
            return false;
        }
        sessions.remove(victim);
        evictions++;
        return true;
    }

    /** Kafka's next epoch: 1 after the largest int, never 0 (which creates) or -1 (which closes). */
    static int nextEpoch(int epoch) {
        return epoch == Integer.MAX_VALUE ? 1 : epoch + 1;
    }

    /** Identifies a partition within a session: by topic id from Fetch v13 on, by name before. */
    record Key(Uuid topicId, String topic, int partition) {

        static Key of(FetchRequestData.FetchTopic ft, int partition, boolean usesTopicIds) {
            return usesTopicIds ? new Key(ft.topicId(), "", partition) : new Key(Uuid.ZERO_UUID, ft.topic(), partition);
        }
    }

    /** What a session remembers of one partition: the client's last fetch parameters and what it was told. */
    static final class Cached {
        final Key key;
        long fetchOffset;
        int maxBytes;
        int currentLeaderEpoch;
        int lastFetchedEpoch;
        long logStartOffset;
        // what the client was last told; -1 until told, and after an error so that recovery is reported
        long highWatermark = -1;
        long localLogStartOffset = -1;

        Cached(Key key, FetchRequestData.FetchPartition fp) {
            this.key = key;
            update(fp);
        }

        void update(FetchRequestData.FetchPartition fp) {
            fetchOffset = fp.fetchOffset();
            maxBytes = fp.partitionMaxBytes();
            currentLeaderEpoch = fp.currentLeaderEpoch();
            lastFetchedEpoch = fp.lastFetchedEpoch();
            logStartOffset = fp.logStartOffset();
        }

        FetchRequestData.FetchPartition toRequest() {
            return new FetchRequestData.FetchPartition().setPartition(key.partition()).setFetchOffset(fetchOffset)
                    .setPartitionMaxBytes(maxBytes).setCurrentLeaderEpoch(currentLeaderEpoch)
                    .setLastFetchedEpoch(lastFetchedEpoch).setLogStartOffset(logStartOffset);
        }

        /**
         * Whether the client must hear of this partition in an incremental answer (Kafka's
         * CachedPartition.maybeUpdateResponseData), remembering what it is told.
         */
        boolean mustRespond(PartitionData pd) {
            boolean must = pd.records() != null && pd.records().sizeInBytes() > 0;
            if (highWatermark != pd.highWatermark()) {
                highWatermark = pd.highWatermark();
                must = true;
            }
            if (localLogStartOffset != pd.logStartOffset()) {
                localLogStartOffset = pd.logStartOffset();
                must = true;
            }
            if (pd.preferredReadReplica() >= 0) {
                must = true;
            }
            if (pd.errorCode() != Errors.NONE.code()) {
                // told again once the error is gone
                highWatermark = -1;
                must = true;
            }
            if (pd.divergingEpoch() != null && pd.divergingEpoch().epoch() >= 0) {
                must = true;
            }
            return must;
        }

        /** Remembers what a full fetch told the client, all of which it was told. */
        void told(PartitionData pd) {
            highWatermark = pd.errorCode() != Errors.NONE.code() ? -1 : pd.highWatermark();
            localLogStartOffset = pd.logStartOffset();
        }
    }

    /** One client's session. Its fields are guarded by the session itself. */
    static final class Session {
        final int id;
        final boolean privileged;
        final boolean usesTopicIds;
        // the epoch the next fetch must carry
        int epoch = 1;
        // insertion order is the order partitions are read in; one that returned records moves to the end
        final LinkedHashMap<Key, Cached> partitions = new LinkedHashMap<>();
        long lastUsedMs;

        Session(int id, boolean privileged, boolean usesTopicIds, long now) {
            this.id = id;
            this.privileged = privileged;
            this.usesTopicIds = usesTopicIds;
            this.lastUsedMs = now;
        }

        /**
         * Applies an incremental fetch: its partitions are added or updated, its forgotten ones removed (after, as
         * Kafka applies them), and the epoch moves on. Returns the partitions to read, in the session's order.
         */
        List<Cached> update(FetchRequestData request) {
            for (FetchRequestData.FetchTopic ft : request.topics()) {
                for (FetchRequestData.FetchPartition fp : ft.partitions()) {
                    Key key = Key.of(ft, fp.partition(), usesTopicIds);
                    Cached c = partitions.get(key);
                    if (c == null) {
                        partitions.put(key, new Cached(key, fp));
                    } else {
                        c.update(fp);
                    }
                }
            }
            for (FetchRequestData.ForgottenTopic ft : request.forgottenTopicsData()) {
                for (int p : ft.partitions()) {
                    partitions.remove(usesTopicIds ? new Key(ft.topicId(), "", p) : new Key(Uuid.ZERO_UUID, ft.topic(), p));
                }
            }
            epoch = nextEpoch(epoch);
            return new ArrayList<>(partitions.values());
        }

        /**
         * The fetch to read for the session: {@code request}'s settings with every partition of {@code order},
         * grouped into topics where consecutive partitions share one (as Kafka's answers group them).
         */
        static FetchRequestData toRequest(FetchRequestData request, List<Cached> order) {
            FetchRequestData read = request.duplicate();
            read.topics().clear();
            read.forgottenTopicsData().clear();
            FetchRequestData.FetchTopic current = null;
            Key last = null;
            for (Cached c : order) {
                if (last == null || !last.topicId().equals(c.key.topicId()) || !last.topic().equals(c.key.topic())) {
                    current = new FetchRequestData.FetchTopic().setTopic(c.key.topic()).setTopicId(c.key.topicId());
                    read.topics().add(current);
                }
                current.partitions().add(c.toRequest());
                last = c.key;
            }
            return read;
        }

        /**
         * The incremental answer: of {@code full} (the answer for every partition of {@code order}, in that
         * order), only the partitions the client must hear of; those that returned records move to the end of
         * the session. Partitions left out hold no records, so nothing they hold needs releasing.
         */
        FetchResponseData prune(FetchResponseData full, List<Cached> order) {
            FetchResponseData out = new FetchResponseData().setErrorCode(full.errorCode())
                    .setThrottleTimeMs(full.throttleTimeMs()).setSessionId(id);
            Iterator<Cached> cached = order.iterator();
            for (FetchableTopicResponse tr : full.responses()) {
                FetchableTopicResponse kept = null;
                for (PartitionData pd : tr.partitions()) {
                    Cached c = cached.next();
                    if (!c.mustRespond(pd)) {
                        WireRecords.release(pd.records());
                        continue;
                    }
                    if (kept == null) {
                        kept = new FetchableTopicResponse().setTopic(tr.topic()).setTopicId(tr.topicId());
                        out.responses().add(kept);
                    }
                    kept.partitions().add(pd);
                    if (pd.records() != null && pd.records().sizeInBytes() > 0 && partitions.remove(c.key) != null) {
                        partitions.put(c.key, c);
                    }
                }
            }
            return out;
        }
    }
}
