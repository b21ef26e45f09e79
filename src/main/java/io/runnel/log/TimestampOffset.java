package io.runnel.log;

/** A (timestamp, offset) pair, as answered by ListOffsets; leaderEpoch of the batch holding it, or -1. */
public record TimestampOffset(long timestamp, long offset, int leaderEpoch) {
}
