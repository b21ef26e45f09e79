package io.runnel.bridge;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.header.Header;

/**
 * Turns a delivery in the binary form (value as the body, metadata in headers) into the JSON record object
 * ({@link BridgeRecordJson}) a TCP or SockJS client asked for with {@code "encoding"} in its subscribe: JSON
 * is all those clients can carry. A delivery that is already JSON (a subscription that encodes its records
 * itself, or a batch) passes unchanged, so the bridges work with either.
 */
final class DeliveryJson {

    private DeliveryJson() {
    }

    /** The JSON record for a binary delivery; null when {@code body} is not one (left as it is). */
    static JsonObject translate(MultiMap headers, Object body, BridgeRecordJson.Encoding encoding) {
        if (encoding == null || headers.get(BridgeAddresses.H_TOPIC) == null
                || !(body == null || body instanceof Buffer || body instanceof byte[])) {
            return null;
        }
        BridgeRecord r = BridgeMessages.fromDelivery(headers, body);
        return BridgeRecordJson.encode(r.topic(), r.partition(), r.offset(), r.timestamp(), r.timestampType(), r.key(),
                r.value(), r.headers().toArray(new Header[0]), encoding, encoding);
    }

    /** The encoding a subscribe request asks for: null for "binary" (or none), else base64, text or json. */
    static BridgeRecordJson.Encoding requested(Object subscribeBody) {
        if (!(subscribeBody instanceof JsonObject j) || !(j.getValue("encoding") instanceof String e)
                || e.equalsIgnoreCase("binary")) {
            return null;
        }
        try {
            return BridgeRecordJson.Encoding.parse("encoding", e);
        } catch (RuntimeException bad) {
            return null; // the subscription refuses it itself
        }
    }
}
