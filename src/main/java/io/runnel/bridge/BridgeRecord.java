package io.runnel.bridge;

import java.util.List;

import org.apache.kafka.common.header.Header;

/**
 * A record as the bridge carries it over the event bus: produced by an application or delivered to a
 * subscriber. Keys, values and header values are raw bytes, exactly as Kafka clients see them.
 *
 * @param partition     -1 when producing lets the broker choose
 * @param offset        -1 when producing
 * @param timestamp     epoch ms; -1 when producing lets the broker stamp the current time
 * @param timestampType CreateTime or LogAppendTime on delivery; null when producing
 */
public record BridgeRecord(String topic, int partition, long offset, long timestamp, String timestampType,
                           byte[] key, byte[] value, List<Header> headers) {

    /** A record to produce: the broker chooses the partition and stamps the time. */
    public static BridgeRecord of(String topic, byte[] key, byte[] value, List<Header> headers) {
        return new BridgeRecord(topic, -1, -1, -1, null, key, value, headers == null ? List.of() : headers);
    }
}
