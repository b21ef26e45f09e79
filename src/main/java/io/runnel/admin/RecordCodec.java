package io.runnel.admin;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import io.runnel.log.LogBatch;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Records to and from the admin API's JSON. Keys, values and header values travel as text in an
 * encoding: "string" (UTF-8) or "base64". On the way out the default shows UTF-8 text when the bytes
 * are valid UTF-8 and base64 otherwise, and says which in {@code keyEncoding}/{@code valueEncoding}.
 */
final class RecordCodec {

    private RecordCodec() {
    }

    /** One record of a produce body; {@code partition} is null when the broker chooses. */
    record Incoming(Integer partition, byte[] key, RecordSet.NewRecord record) {
    }

    static Incoming parse(JsonObject r, String defaultEncoding, String path) {
        String encoding = JsonInput.encoding(
                r.containsKey("encoding") ? JsonInput.optionalString(r, "encoding", path + ".encoding") : defaultEncoding,
                path + ".encoding");
        Integer partition = JsonInput.optionalInt(r, "partition", path + ".partition");
        byte[] key = JsonInput.bytes(JsonInput.optionalString(r, "key", path + ".key"), encoding, path + ".key");
        byte[] value = JsonInput.bytes(JsonInput.optionalString(r, "value", path + ".value"), encoding, path + ".value");
        Long ts = JsonInput.optionalLong(r, "timestamp", path + ".timestamp");
        if (ts != null && ts < 0) {
            throw HttpError.badField(path + ".timestamp", path + ".timestamp must not be negative");
        }
        List<Header> headers = new ArrayList<>();
        Object h = r.getValue("headers");
        if (h instanceof JsonArray arr) {
            for (int i = 0; i < arr.size(); i++) {
                String hp = path + ".headers[" + i + "]";
                if (!(arr.getValue(i) instanceof JsonObject ho)) {
                    throw HttpError.badField(hp, hp + " must be an object with key and value");
                }
                String hk = JsonInput.requiredString(ho, "key", hp + ".key");
                headers.add(new RecordHeader(hk, JsonInput.bytes(JsonInput.optionalString(ho, "value", hp + ".value"),
                        encoding, hp + ".value")));
            }
        } else if (h instanceof JsonObject ho) {
            for (String hk : ho.fieldNames()) {
                String hp = path + ".headers." + hk;
                headers.add(new RecordHeader(hk, JsonInput.bytes(JsonInput.optionalString(ho, hk, hp), encoding, hp)));
            }
        } else if (h != null) {
            throw HttpError.badField(path + ".headers", path + ".headers must be an array or an object");
        }
        long timestamp = ts == null ? System.currentTimeMillis() : ts;
        return new Incoming(partition, key, new RecordSet.NewRecord(timestamp, key, value, headers.toArray(new Header[0])));
    }

    /** Records of {@code records} at or after {@code from}, at most {@code limit}. */
    static List<JsonObject> decode(RecordSet records, int partition, long from, long below, int limit,
                                   boolean forceBase64) {
        List<JsonObject> out = new ArrayList<>();
        for (LogBatch batch : records.batches()) {
            if (batch.lastOffset() < from) {
                continue;
            }
            for (LogRecord r : batch) {
                if (r.offset() < from) {
                    continue;
                }
                if (r.offset() >= below || out.size() >= limit) {
                    return out;
                }
                JsonObject json = new JsonObject().put("partition", partition).put("offset", r.offset())
                        .put("timestamp", r.timestamp()).put("timestampType", batch.timestampType().name);
                put(json, "key", r.key(), forceBase64);
                put(json, "value", r.value(), forceBase64);
                JsonArray headers = new JsonArray();
                for (Header header : r.headers()) {
                    JsonObject hj = new JsonObject().put("key", header.key());
                    put(hj, "value", header.value() == null ? null : ByteBuffer.wrap(header.value()), forceBase64);
                    headers.add(hj);
                }
                out.add(json.put("headers", headers));
            }
        }
        return out;
    }

    private static void put(JsonObject json, String field, ByteBuffer bytes, boolean forceBase64) {
        if (bytes == null) {
            json.putNull(field);
            return;
        }
        byte[] b = new byte[bytes.remaining()];
        bytes.duplicate().get(b);
        if (!forceBase64) {
            try {
                String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
                json.put(field, text).put(field + "Encoding", "string");
                return;
            } catch (CharacterCodingException e) {
                // not text: fall through to base64
            }
        }
        json.put(field, Base64.getEncoder().encodeToString(b)).put(field + "Encoding", "base64");
    }
}
