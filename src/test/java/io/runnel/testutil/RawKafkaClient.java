package io.runnel.testutil;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;

import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.AbstractResponse;
import org.apache.kafka.common.requests.RequestHeader;

/** A bare Kafka protocol client over a blocking socket, for sending exactly the bytes a test wants. */
public final class RawKafkaClient implements AutoCloseable {

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private int correlationId;

    public RawKafkaClient(String hostPort) throws IOException {
        this(hostPort, null);
    }

    /** Connects from {@code localAddress} (another loopback address, say), or any when null. */
    public RawKafkaClient(String hostPort, java.net.InetAddress localAddress) throws IOException {
        int colon = hostPort.lastIndexOf(':');
        socket = new Socket();
        if (localAddress != null) {
            socket.bind(new InetSocketAddress(localAddress, 0));
        }
        socket.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), 5000);
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** How long a read waits for the broker before it throws SocketTimeoutException (10 s unless set). */
    public void readTimeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    public void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** Encodes a request with the generated classes; returns its correlation id. */
    public int send(ApiKeys key, short version, ApiMessage body) throws IOException {
        int id = ++correlationId;
        RequestHeaderData header = new RequestHeaderData().setRequestApiKey(key.id).setRequestApiVersion(version)
                .setCorrelationId(id).setClientId("raw-test");
        short headerVersion = key.requestHeaderVersion(version);
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = header.size(cache, headerVersion) + body.size(cache, version);
        ByteBuffer buf = ByteBuffer.allocate(4 + size);
        buf.putInt(size);
        ByteBufferAccessor acc = new ByteBufferAccessor(buf);
        header.write(acc, cache, headerVersion);
        body.write(acc, cache, version);
        sendRaw(buf.array());
        return id;
    }

    /** Sends a kafka-clients request object at its version and parses the answer. */
    @SuppressWarnings("unchecked")
    public <R extends AbstractResponse> R send(AbstractRequest request) throws IOException {
        RequestHeader header = new RequestHeader(request.apiKey(), request.version(), "raw-test", ++correlationId);
        ByteBuffer body = request.serializeWithHeader(header);
        ByteBuffer frame = ByteBuffer.allocate(4 + body.remaining());
        frame.putInt(body.remaining()).put(body);
        sendRaw(frame.array());
        byte[] response = new byte[in.readInt()];
        in.readFully(response);
        return (R) AbstractResponse.parseResponse(ByteBuffer.wrap(response), header);
    }

    /** Reads one response frame and returns the body after the response header. */
    public ByteBuffer receive(ApiKeys key, short version) throws IOException {
        int size = in.readInt();
        byte[] frame = new byte[size];
        in.readFully(frame);
        ByteBuffer buf = ByteBuffer.wrap(frame);
        new ResponseHeaderData(new ByteBufferAccessor(buf), key.responseHeaderVersion(version));
        return buf;
    }

    /** True when the broker closed the connection (EOF) within the socket timeout. */
    public boolean closedByPeer() throws IOException {
        try {
            return in.read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    /** An idempotent producer's InitProducerId (v4, no transactional id); fails unless answered NONE. */
    public long initProducerId() throws IOException {
        org.apache.kafka.common.requests.InitProducerIdResponse r = send(
                new org.apache.kafka.common.requests.InitProducerIdRequest.Builder(
                        new org.apache.kafka.common.message.InitProducerIdRequestData().setTransactionalId(null)
                                .setTransactionTimeoutMs(60_000)).build((short) 4));
        if (r.data().errorCode() != 0) {
            throw new IOException("InitProducerId answered error " + r.data().errorCode());
        }
        return r.data().producerId();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
