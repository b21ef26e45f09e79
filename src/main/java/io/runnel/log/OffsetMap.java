package io.runnel.log;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The log cleaner's map from a record key to the offset of its latest record in the dirty section, in
 * bounded memory as Kafka's {@code SkimpyOffsetMap}: a key is stored as 128 bits beside an 8-byte offset,
 * 24 bytes an entry in open addressing with linear probing. A key of up to 15 bytes is stored as itself
 * (its bytes, then a last byte of 0x80 | length), so short keys (numbers, short ids) never collide and
 * cost no digest; a longer key is stored as its MD5 digest with the top bit of the last byte cleared, so
 * the two kinds never meet (a collision between two long live keys would drop one of them, with a
 * probability of about n^2 / 2^128, as in Kafka). MD5 was most of the cleaner's time per record (about
 * 130 ns a key here, twice per record: once to build the map, once to filter).
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
    // the identity of the key last passed to identify()
    private long keyHi;
    private long keyLo;
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
        identify(key);
        long hi = keyHi;
        long lo = keyLo;
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
        identify(key);
        return table[find(keyHi, keyLo) * 3 + 2];
    }

    /** The slot holding the digest, or the empty slot where it would go. */
    private int find(long hi, long lo) {
        int mask = slots - 1;
        int slot = (int) mix(hi, lo) & mask;
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

    /** Sets (keyHi, keyLo): a short key's own bytes, or a long key's digest (see the class comment). */
    private void identify(ByteBuffer key) {
        int length = key.remaining();
        if (length < 16) {
            int p = key.position();
            long hi = 0;
            long lo = 0x80L | length;
            for (int i = 0; i < length; i++) {
                long b = key.get(p + i) & 0xFFL;
                if (i < 8) {
                    hi |= b << (56 - 8 * i);
                } else {
                    lo |= b << (120 - 8 * i);
                }
            }
            keyHi = hi;
            keyLo = lo;
            return;
        }
        // digest() resets the digest for the next key
        md5.update(key.duplicate());
        try {
            md5.digest(digest, 0, 16);
        } catch (java.security.DigestException e) {
            throw new IllegalStateException(e);
        }
        keyHi = longAt(0);
        keyLo = longAt(8) & ~0x80L;
    }

    /**
     * The slot hash of a stored identity: a short key's bytes are far from uniform ("key-0001",
     * "key-0002"), so both halves go through a 64-bit finaliser (MurmurHash3's fmix64) before the low bits
     * pick a slot.
     */
    private static long mix(long hi, long lo) {
        long h = hi * 0x9E3779B97F4A7C15L ^ lo;
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        h ^= h >>> 33;
        return h;
    }

    private long longAt(int from) {
        long v = 0;
        for (int i = from; i < from + 8; i++) {
            v = (v << 8) | (digest[i] & 0xFFL);
        }
        return v;
    }
}
