package io.runnel.log;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The log cleaner's map from a record key to the offset of its latest record in the dirty section, in
 * bounded memory as Kafka's {@code SkimpyOffsetMap}: a key is stored as its 128-bit MD5 digest (a
 * collision between two live keys would drop one of them, with a probability of about n^2 / 2^129, as
 * in Kafka), beside an 8-byte offset: 24 bytes an entry in open addressing with linear probing.
 *
 * <p>Memory grows by doubling as keys come, from a small table up to {@code maxBytes}
 * ({@code log.cleaner.dedupe.buffer.size} divided among the cleaner threads), so a broker with few keys
 * does not hold the whole dedupe buffer. The map is full once it holds {@code loadFactor} of the largest
 * table: {@link #isFull()} tells the cleaner to stop adding segments to this round.
 *
 * <p>Threading: one cleaner thread; not thread-safe.
 */
final class OffsetMap {

    static final int BYTES_PER_ENTRY = 24;
    private static final int MIN_SLOTS = 1 << 12;
    private static final double LOAD_FACTOR = 0.9;

    private final MessageDigest md5;
    private final int maxSlots;
    private final byte[] digest = new byte[16];
    // (hi, lo, offset) per slot; an empty slot has offset -1
    private long[] table;
    private int slots;
    private int entries;
    private long latestOffset = -1L;

    /** @param maxBytes the memory the table may grow to (at least one small table) */
    OffsetMap(long maxBytes) {
        try {
            this.md5 = MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is part of every Java platform", e);
        }
        long max = Math.max(MIN_SLOTS, Math.min(maxBytes / BYTES_PER_ENTRY, 1 << 28));
        this.maxSlots = Integer.highestOneBit((int) max);
        allocate(Math.min(MIN_SLOTS, maxSlots));
    }

    private void allocate(int n) {
        slots = n;
        table = new long[n * 3];
        for (int i = 2; i < table.length; i += 3) {
            table[i] = -1L;
        }
    }

    /** How many keys the map takes before it is full. */
    int capacity() {
        return (int) (maxSlots * LOAD_FACTOR);
    }

    int size() {
        return entries;
    }

    boolean isFull() {
        return entries >= capacity();
    }

    /** The largest offset put since the last {@link #clear()}, or -1. */
    long latestOffset() {
        return latestOffset;
    }

    /** Share of the capacity in use (Kafka's "buffer utilization"). */
    double utilization() {
        return (double) entries / capacity();
    }

    void clear() {
        if (slots > MIN_SLOTS * 16) {
            // a large table from an earlier round is given back rather than kept for a smaller log
            allocate(MIN_SLOTS);
        } else {
            for (int i = 0; i < table.length; i += 3) {
                table[i + 2] = -1L;
            }
        }
        entries = 0;
        latestOffset = -1L;
    }

    /**
     * Records {@code offset} as the latest of {@code key}; offsets are put in increasing order.
     *
     * @throws IllegalStateException if the map is full
     */
    void put(ByteBuffer key, long offset) {
        hash(key);
        long hi = hi();
        long lo = lo();
        int slot = find(hi, lo);
        if (table[slot * 3 + 2] < 0) {
            if (isFull()) {
                throw new IllegalStateException("offset map is full (" + entries + " keys)");
            }
            if (entries + 1 > slots * LOAD_FACTOR && slots < maxSlots) {
                grow();
                slot = find(hi, lo);
            }
            table[slot * 3] = hi;
            table[slot * 3 + 1] = lo;
            entries++;
        }
        table[slot * 3 + 2] = offset;
        latestOffset = offset;
    }

    /** The latest offset of {@code key}, or -1 when the dirty section does not hold it. */
    long get(ByteBuffer key) {
        hash(key);
        return table[find(hi(), lo()) * 3 + 2];
    }

    /** The slot holding the digest, or the empty slot where it would go. */
    private int find(long hi, long lo) {
        int mask = slots - 1;
        int slot = (int) (lo ^ (lo >>> 32)) & mask;
        while (true) {
            int i = slot * 3;
            if (table[i + 2] < 0 || table[i] == hi && table[i + 1] == lo) {
                return slot;
            }
            slot = (slot + 1) & mask;
        }
    }

    private void grow() {
        long[] old = table;
        allocate(Math.min(slots * 2, maxSlots));
        for (int i = 0; i < old.length; i += 3) {
            if (old[i + 2] >= 0) {
                int slot = find(old[i], old[i + 1]);
                table[slot * 3] = old[i];
                table[slot * 3 + 1] = old[i + 1];
                table[slot * 3 + 2] = old[i + 2];
            }
        }
    }

    private void hash(ByteBuffer key) {
        md5.reset();
        md5.update(key.duplicate());
        try {
            md5.digest(digest, 0, 16);
        } catch (java.security.DigestException e) {
            throw new IllegalStateException(e);
        }
    }

    private long hi() {
        return longAt(0);
    }

    private long lo() {
        return longAt(8);
    }

    private long longAt(int from) {
        long v = 0;
        for (int i = from; i < from + 8; i++) {
            v = (v << 8) | (digest[i] & 0xFFL);
        }
        return v;
    }
}
