package io.runnel.log;

import java.nio.ByteBuffer;

import org.apache.kafka.common.header.Header;

/**
 * One record of a {@link LogBatch}, as a reader sees it: its absolute offset, timestamp, key, value and
 * headers. Key and value are read-only views into the batch's bytes (or its decompressed copy), valid as
 * long as the batch's buffer is; null when absent.
 *
 * <p>Implemented by {@link RecordFormat} only, so the kafka-clients record classes behind it can move
 * package again without touching the readers (admin API, bridge, group loader).
 */
public interface LogRecord {

    long offset();

    long timestamp();

    boolean hasKey();

    ByteBuffer key();

    boolean hasValue();

    ByteBuffer value();

    Header[] headers();
}
