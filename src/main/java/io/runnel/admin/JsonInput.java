package io.runnel.admin;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * Typed reads of request bodies and query parameters. Every wrong type, missing field or bad number is
 * an {@link HttpError} 400 naming the field, thrown before anything reaches the broker.
 */
final class JsonInput {

    private JsonInput() {
    }

    static JsonObject body(RoutingContext ctx) {
        if (ctx.body() == null || ctx.body().buffer() == null || ctx.body().length() <= 0) {
            throw HttpError.badField("body", "a JSON object body is required");
        }
        Object parsed;
        try {
            parsed = io.vertx.core.json.Json.decodeValue(ctx.body().buffer());
        } catch (DecodeException | IllegalArgumentException e) {
            throw HttpError.badField("body", "the body is not valid JSON");
        }
        if (!(parsed instanceof JsonObject o)) {
            throw HttpError.badField("body", "the body must be a JSON object");
        }
        return o;
    }

    static String requiredString(JsonObject o, String field, String path) {
        Object v = o.getValue(field);
        if (v == null) {
            throw HttpError.badField(path, path + " is required");
        }
        if (!(v instanceof String s)) {
            throw HttpError.badField(path, path + " must be a string");
        }
        return s;
    }

    static String optionalString(JsonObject o, String field, String path) {
        Object v = o.getValue(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw HttpError.badField(path, path + " must be a string");
        }
        return s;
    }

    static Long optionalLong(JsonObject o, String field, String path) {
        Object v = o.getValue(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Integer || v instanceof Long)) {
            throw HttpError.badField(path, path + " must be an integer");
        }
        return ((Number) v).longValue();
    }

    static Integer optionalInt(JsonObject o, String field, String path) {
        Long v = optionalLong(o, field, path);
        if (v == null) {
            return null;
        }
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw HttpError.badField(path, path + " is out of range");
        }
        return v.intValue();
    }

    static JsonObject optionalObject(JsonObject o, String field, String path) {
        Object v = o.getValue(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof JsonObject j)) {
            throw HttpError.badField(path, path + " must be an object");
        }
        return j;
    }

    static JsonArray optionalArray(JsonObject o, String field, String path) {
        Object v = o.getValue(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof JsonArray a)) {
            throw HttpError.badField(path, path + " must be an array");
        }
        return a;
    }

    /** A string-to-string map such as topic configs; {@code nullValues} allows null (meaning "remove"). */
    static Map<String, String> stringMap(JsonObject o, String path, boolean nullValues) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : o) {
            Object v = e.getValue();
            String p = path + "." + e.getKey();
            if (v == null) {
                if (!nullValues) {
                    throw HttpError.badField(p, p + " must be a string");
                }
                out.put(e.getKey(), null);
            } else if (v instanceof String s) {
                out.put(e.getKey(), s);
            } else if (v instanceof Number || v instanceof Boolean) {
                // "retention.ms": 86400000 is what people write; Kafka's configs are strings
                out.put(e.getKey(), v.toString());
            } else {
                throw HttpError.badField(p, p + " must be a string");
            }
        }
        return out;
    }

    /** Bytes of a key, value or header value given as text in {@code encoding} ("string" or "base64"). */
    static byte[] bytes(String text, String encoding, String path) {
        if (text == null) {
            return null;
        }
        if ("base64".equals(encoding)) {
            try {
                return Base64.getDecoder().decode(text);
            } catch (IllegalArgumentException e) {
                throw HttpError.badField(path, path + " is not valid base64");
            }
        }
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    static String encoding(String value, String path) {
        if (value == null) {
            return "string";
        }
        if (!value.equals("string") && !value.equals("base64")) {
            throw HttpError.badField(path, path + " must be \"string\" or \"base64\"");
        }
        return value;
    }

    static Integer queryInt(RoutingContext ctx, String name, boolean required) {
        Long v = queryLong(ctx, name, required);
        if (v == null) {
            return null;
        }
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw HttpError.badField(name, name + " is out of range");
        }
        return v.intValue();
    }

    static Long queryLong(RoutingContext ctx, String name, boolean required) {
        String v = ctx.request().getParam(name);
        if (v == null || v.isEmpty()) {
            if (required) {
                throw HttpError.badField(name, "query parameter " + name + " is required");
            }
            return null;
        }
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw HttpError.badField(name, "query parameter " + name + " must be an integer");
        }
    }
}
