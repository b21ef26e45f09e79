package io.runnel.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import io.vertx.core.json.Json;

/** A small blocking JSON client for the admin API in tests. */
final class AdminHttp {

    record Response(int status, String body, java.net.http.HttpHeaders headers) {
        io.vertx.core.json.JsonObject json() {
            return new io.vertx.core.json.JsonObject(body);
        }

        io.vertx.core.json.JsonArray array() {
            return new io.vertx.core.json.JsonArray(body);
        }
    }

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;
    private final String token;

    AdminHttp(int port, String token) {
        this.base = "http://127.0.0.1:" + port;
        this.token = token;
    }

    Response get(String path) throws Exception {
        return send("GET", path, null);
    }

    Response delete(String path) throws Exception {
        return send("DELETE", path, null);
    }

    Response post(String path, Object body) throws Exception {
        return send("POST", path, body);
    }

    Response patch(String path, Object body) throws Exception {
        return send("PATCH", path, body);
    }

    Response put(String path, Object body) throws Exception {
        return send("PUT", path, body);
    }

    /** {@code body}: a String is sent as is (for malformed JSON), anything else encoded as JSON. */
    Response send(String method, String path, Object body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        String text = body == null ? null : body instanceof String s ? s : Json.encode(body);
        b.method(method, text == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(text));
        HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Response(r.statusCode(), r.body(), r.headers());
    }
}
