package io.runnel.bridge;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Conversions between record fields and event-bus bodies and headers, shared by the broker side and
 * {@link RunnelEventBusClient}. Event-bus header names are case-insensitive and their values are
 * strings, so bytes travel as base64 and record headers (case-sensitive names, duplicates, order) as
 * one JSON array in {@link BridgeAddresses#H_HEADERS}. Every decode failure is an INVALID_REQUEST
 * ApiException naming the field.
 */
public final class BridgeMessages {

    private BridgeMessages() {
    }

    public static String encodeBytes(byte[] bytes) {
        return bytes == null ? null : Base64.getEncoder().encodeToString(bytes);
    }

    public static byte[] decodeBytes(String field, String base64) {
        if (base64 == null) {
            return null;
        }
        try {
            return Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw BridgeException.invalid("header '" + field + "' is not valid base64: " + e.getMessage());
        }
    }

    public static String encodeHeaders(Iterable<Header> headers) {
        JsonArray array = new JsonArray();
        for (Header h : headers) {
            array.add(new JsonObject().put("key", h.key()).put("value", encodeBytes(h.value())));
        }
        return array.encode();
    }

    public static List<Header> decodeHeaders(String json) {
        if (json == null || json.isEmpty()) {
            return List.of();
        }
        JsonArray array;
        try {
            array = new JsonArray(json);
        } catch (RuntimeException e) {
            throw BridgeException.invalid("header '" + BridgeAddresses.H_HEADERS + "' is not a JSON array: "
                    + e.getMessage());
        }
        List<Header> out = new ArrayList<>(array.size());
        for (Object o : array) {
            if (!(o instanceof JsonObject h) || !(h.getValue("key") instanceof String key)
                    || !(h.getValue("value") == null || h.getValue("value") instanceof String)) {
                throw BridgeException.invalid("header '" + BridgeAddresses.H_HEADERS
                        + "' entries must be {\"key\": string, \"value\": base64 string or null}");
            }
            out.add(new RecordHeader(key, decodeBytes(BridgeAddresses.H_HEADERS, h.getString("value"))));
        }
        return out;
    }

    /** A record value from an event-bus body: Buffer, byte[], String (UTF-8) or null. */
    public static byte[] valueOf(Object body) {
        if (body == null) {
            return null;
        }
        if (body instanceof Buffer b) {
            return b.getBytes();
        }
        if (body instanceof byte[] bytes) {
            return bytes;
        }
        if (body instanceof String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
        throw BridgeException.invalid("the body must be a Buffer (the record value), byte[], String or null, not "
                + body.getClass().getSimpleName());
    }

    public static Long longHeader(MultiMap headers, String name) {
        String v = headers.get(name);
        if (v == null) {
            return null;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw BridgeException.invalid("header '" + name + "' must be a number, got '" + v + "'");
        }
    }

    /** The record a delivery message carries (subscriber side). */
    public static BridgeRecord fromDelivery(MultiMap headers, Object body) {
        Long partition = longHeader(headers, BridgeAddresses.H_PARTITION);
        Long offset = longHeader(headers, BridgeAddresses.H_OFFSET);
        Long timestamp = longHeader(headers, BridgeAddresses.H_TIMESTAMP);
        return new BridgeRecord(headers.get(BridgeAddresses.H_TOPIC), partition == null ? -1 : partition.intValue(),
                offset == null ? -1 : offset, timestamp == null ? -1 : timestamp,
                headers.get(BridgeAddresses.H_TIMESTAMP_TYPE),
                decodeBytes(BridgeAddresses.H_KEY, headers.get(BridgeAddresses.H_KEY)), valueOf(body),
                decodeHeaders(headers.get(BridgeAddresses.H_HEADERS)));
    }
}
