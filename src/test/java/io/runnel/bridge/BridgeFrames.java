package io.runnel.bridge;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.UUID;

import io.vertx.core.json.JsonObject;

/**
 * A TCP event-bus bridge client over any socket (plain or {@link javax.net.ssl.SSLSocket}): 4-byte big-endian
 * length + UTF-8 JSON per frame, as a client in any language writes them. Not thread-safe.
 */
public final class BridgeFrames implements AutoCloseable {

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    /** Frames read while waiting for an answer (deliveries, say), returned by {@link #read} first. */
    private final java.util.ArrayDeque<JsonObject> skipped = new java.util.ArrayDeque<>();

    public BridgeFrames(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(30_000);
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    public static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    public void write(JsonObject frame) throws IOException {
        byte[] data = frame.encode().getBytes(StandardCharsets.UTF_8);
        out.write(ByteBuffer.allocate(4 + data.length).putInt(data.length).put(data).array());
        out.flush();
    }

    public JsonObject read() throws IOException {
        if (!skipped.isEmpty()) {
            return skipped.poll();
        }
        return readSocket();
    }

    private JsonObject readSocket() throws IOException {
        int length = in.readInt();
        byte[] data = new byte[length];
        in.readFully(data);
        return new JsonObject(new String(data, StandardCharsets.UTF_8));
    }

    /** Sends a request (with {@code headers}, which may be null) and returns the frame answering it. */
    public JsonObject request(String address, Object body, JsonObject headers) throws IOException {
        String reply = UUID.randomUUID().toString();
        JsonObject frame = new JsonObject().put("type", "send").put("address", address).put("body", body)
                .put("replyAddress", reply);
        if (headers != null) {
            frame.put("headers", headers);
        }
        write(frame);
        while (true) {
            JsonObject f = readSocket();
            if (reply.equals(f.getString("address"))) {
                return f;
            }
            skipped.add(f);
        }
    }

    public void register(String address, String authorization) throws IOException {
        write(new JsonObject().put("type", "register").put("address", address)
                .put("headers", new JsonObject().put("authorization", authorization)));
    }

    /** Acknowledges a delivery frame (answers its replyAddress). */
    public void ack(JsonObject delivery, String authorization) throws IOException {
        write(new JsonObject().put("type", "send").put("address", delivery.getString("replyAddress"))
                .put("body", new JsonObject()).put("headers", new JsonObject().put("authorization", authorization)));
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
