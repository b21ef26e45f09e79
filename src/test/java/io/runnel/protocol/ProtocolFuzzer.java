package io.runnel.protocol;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeGroupsRequestData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;

/**
 * A Kafka protocol fuzzer for the hostile-clients scenario. Its cases are request frames: valid requests of every
 * API key and version the target advertises, built with kafka-clients' generated message classes (populated for
 * the APIs clients use most, default-valued for the rest), sent as they are or mutated (bit flips, truncation,
 * inserted bytes, a length-like field overwritten, the size prefix changed), and frames of random bytes. Each
 * worker thread keeps one connection and sends one frame at a time on it, waiting for the answer: a frame the
 * node closes the connection on, or leaves unanswered, costs that connection, and the worker connects again.
 *
 * <p>Counts: cases, answers, connections the node closed, frames left unanswered, and for the unmutated valid
 * frames separately (each must be answered: the node may only close connections that sent something wrong).
 *
 * <p>Threading: {@link #run} runs its workers on threads of its own; the counters are thread-safe.
 */
final class ProtocolFuzzer {

    /** What the run counted. */
    record Result(long cases, long answered, long closedByNode, long unanswered, long connections, long validSent,
                  long validAnswered, long validClosed, long validUnanswered, long validMisordered, long templates,
                  double seconds) {
        String line() {
            return String.format("cases=%d answered=%d closes=%d unanswered=%d connections=%d valid=%d"
                            + " valid-answered=%d valid-closed=%d valid-unanswered=%d valid-misordered=%d templates=%d"
                            + " rate=%.0f/s", cases, answered, closedByNode, unanswered, connections, validSent,
                    validAnswered, validClosed, validUnanswered, validMisordered, templates, cases / seconds);
        }
    }

    /** A serialized valid request: header (correlation id at bytes 4-7) and body, no size prefix. */
    record Template(ApiKeys key, short version, byte[] frame) {
    }

    /** How long a frame may stay unanswered before the connection is given up (acks=0, long polls). */
    private static final int ANSWER_TIMEOUT_MS = 300;
    /** The same for a frame whose size prefix lied: the node is most likely waiting for bytes that never come. */
    private static final int LIAR_TIMEOUT_MS = 30;
    private static final int[] INTERESTING = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
        0x80000000, 0xffffffff, 0x10000, 0x100000, 0x6400000};

    private final InetSocketAddress target;
    private final List<Template> templates;
    private final AtomicLong cases = new AtomicLong();
    private final AtomicLong answered = new AtomicLong();
    private final AtomicLong closed = new AtomicLong();
    private final AtomicLong unanswered = new AtomicLong();
    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong validSent = new AtomicLong();
    private final AtomicLong validAnswered = new AtomicLong();
    private final AtomicLong validClosed = new AtomicLong();
    private final AtomicLong validUnanswered = new AtomicLong();
    private final AtomicLong validMisordered = new AtomicLong();

    ProtocolFuzzer(InetSocketAddress target, List<Template> templates) {
        this.target = target;
        this.templates = templates;
    }

    /**
     * The versions of each API key the node at {@code target} advertises, asked with ApiVersions v0 (which every
     * node answers).
     */
    static Map<ApiKeys, short[]> advertised(InetSocketAddress target) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(target, 5000);
            s.setSoTimeout(10_000);
            byte[] frame = serialize(ApiKeys.API_VERSIONS, (short) 0, new ApiVersionsRequestData());
            OutputStream out = s.getOutputStream();
            out.write(ByteBuffer.allocate(4).putInt(frame.length).array());
            out.write(frame);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] resp = new byte[in.readInt()];
            in.readFully(resp);
            ByteBuffer b = ByteBuffer.wrap(resp);
            b.getInt(); // correlation id
            ApiVersionsResponseData data = new ApiVersionsResponseData(new ByteBufferAccessor(b), (short) 0);
            Map<ApiKeys, short[]> versions = new java.util.EnumMap<>(ApiKeys.class);
            for (ApiVersionsResponseData.ApiVersion v : data.apiKeys()) {
                if (ApiKeys.hasId(v.apiKey())) {
                    versions.put(ApiKeys.forId(v.apiKey()), new short[] {v.minVersion(), v.maxVersion()});
                }
            }
            return versions;
        }
    }

    /**
     * A valid request of every advertised API key and version that kafka-clients can write: populated (topic
     * {@code topic}, group {@code group}) for the APIs clients use most, default-valued otherwise. APIs that create,
     * change or delete topics, configs or ACLs are sent default-valued only (empty lists), so that no mutation
     * turns them into an administrative change that would shape the rest of the run.
     */
    static List<Template> templates(Map<ApiKeys, short[]> advertised, String topic, Uuid topicId, String group) {
        List<Template> out = new ArrayList<>();
        for (Map.Entry<ApiKeys, short[]> e : advertised.entrySet()) {
            ApiKeys key = e.getKey();
            short lo = (short) Math.max(e.getValue()[0], key.oldestVersion());
            short hi = (short) Math.min(e.getValue()[1], key.latestVersion(true));
            for (short v = lo; v <= hi; v++) {
                for (Function<Short, ApiMessage> variant : variants(key, topic, topicId, group)) {
                    try {
                        byte[] frame = serialize(key, v, variant.apply(v));
                        parsesAsRequest(key, v, frame);
                        out.add(new Template(key, v, frame));
                        break;
                    } catch (RuntimeException ex) {
                        // a field this version cannot carry, or a request kafka-clients itself refuses (Kafka closes
                        // on those too: a DescribeAcls with an UNKNOWN resource type, say): try the next variant
                    }
                }
            }
        }
        return out;
    }

    private static List<Function<Short, ApiMessage>> variants(ApiKeys key, String topic, Uuid topicId, String group) {
        byte[] records = MemoryRecords.withRecords(Compression.NONE, new SimpleRecord("k".getBytes(), "fuzz".getBytes()))
                .buffer().array();
        Function<Short, ApiMessage> empty = v -> ApiMessageType.fromApiKey(key.id).newRequest();
        return switch (key) {
            case PRODUCE -> List.of(
                    v -> produce(topic, null, records),
                    v -> produce(null, topicId, records));
            case FETCH -> List.of(
                    v -> fetch(topic, null),
                    v -> fetch(null, topicId));
            case LIST_OFFSETS -> List.of(v -> new ListOffsetsRequestData().setReplicaId(-1).setTopics(List.of(
                    new ListOffsetsRequestData.ListOffsetsTopic().setName(topic).setPartitions(List.of(
                            new ListOffsetsRequestData.ListOffsetsPartition().setPartitionIndex(0).setTimestamp(-1))))));
            case METADATA -> List.of(
                    v -> new MetadataRequestData().setAllowAutoTopicCreation(false).setTopics(List.of(
                            new MetadataRequestData.MetadataRequestTopic().setName(topic))),
                    v -> new MetadataRequestData().setTopics(List.of(
                            new MetadataRequestData.MetadataRequestTopic().setName(topic))));
            case OFFSET_COMMIT -> List.of(
                    v -> new OffsetCommitRequestData().setGroupId(group).setTopics(List.of(
                            new OffsetCommitRequestData.OffsetCommitRequestTopic().setName(topic).setPartitions(List.of(
                                    new OffsetCommitRequestData.OffsetCommitRequestPartition().setPartitionIndex(0)
                                            .setCommittedOffset(0))))),
                    v -> new OffsetCommitRequestData().setGroupId(group).setTopics(List.of(
                            new OffsetCommitRequestData.OffsetCommitRequestTopic().setTopicId(topicId).setPartitions(
                                    List.of(new OffsetCommitRequestData.OffsetCommitRequestPartition()
                                            .setPartitionIndex(0).setCommittedOffset(0))))));
            case OFFSET_FETCH -> List.of(
                    v -> new OffsetFetchRequestData().setGroupId(group).setTopics(List.of(
                            new OffsetFetchRequestData.OffsetFetchRequestTopic().setName(topic)
                                    .setPartitionIndexes(List.of(0)))),
                    v -> new OffsetFetchRequestData().setGroups(List.of(
                            new OffsetFetchRequestData.OffsetFetchRequestGroup().setGroupId(group).setTopics(List.of(
                                    new OffsetFetchRequestData.OffsetFetchRequestTopics().setName(topic)
                                            .setPartitionIndexes(List.of(0)))))),
                    v -> new OffsetFetchRequestData().setGroups(List.of(
                            new OffsetFetchRequestData.OffsetFetchRequestGroup().setGroupId(group).setTopics(List.of(
                                    new OffsetFetchRequestData.OffsetFetchRequestTopics().setTopicId(topicId)
                                            .setPartitionIndexes(List.of(0)))))));
            case FIND_COORDINATOR -> List.of(
                    v -> new FindCoordinatorRequestData().setKey(group),
                    v -> new FindCoordinatorRequestData().setCoordinatorKeys(List.of(group)));
            // v4 and up answer MEMBER_ID_REQUIRED at once; older versions would wait out a rebalance
            case JOIN_GROUP -> List.of(v -> {
                if (v < 4) {
                    throw new IllegalArgumentException("waits for a rebalance");
                }
                return new JoinGroupRequestData().setGroupId(group + "-join").setProtocolType("consumer")
                        .setSessionTimeoutMs(10_000).setRebalanceTimeoutMs(10_000)
                        .setProtocols(new JoinGroupRequestData.JoinGroupRequestProtocolCollection(List.of(
                                new JoinGroupRequestData.JoinGroupRequestProtocol().setName("range")
                                        .setMetadata(new byte[0])).iterator()));
            });
            case HEARTBEAT -> List.of(v -> new HeartbeatRequestData().setGroupId(group).setGenerationId(1)
                    .setMemberId("nobody"));
            case SYNC_GROUP -> List.of(
                    v -> new SyncGroupRequestData().setGroupId(group).setGenerationId(1).setMemberId("nobody")
                            .setProtocolType("consumer").setProtocolName("range"),
                    v -> new SyncGroupRequestData().setGroupId(group).setGenerationId(1).setMemberId("nobody"));
            case LEAVE_GROUP -> List.of(
                    v -> new LeaveGroupRequestData().setGroupId(group).setMemberId("nobody"),
                    v -> new LeaveGroupRequestData().setGroupId(group).setMembers(List.of(
                            new LeaveGroupRequestData.MemberIdentity().setMemberId("nobody"))));
            case DESCRIBE_GROUPS -> List.of(v -> new DescribeGroupsRequestData().setGroups(List.of(group)));
            case LIST_GROUPS -> List.of(v -> new ListGroupsRequestData());
            case DESCRIBE_CLUSTER -> List.of(v -> new DescribeClusterRequestData());
            case DESCRIBE_CONFIGS -> List.of(v -> new DescribeConfigsRequestData().setResources(List.of(
                    new DescribeConfigsRequestData.DescribeConfigsResource().setResourceType((byte) 2)
                            .setResourceName(topic))));
            case INIT_PRODUCER_ID -> List.of(v -> new InitProducerIdRequestData().setTransactionalId(null)
                    .setTransactionTimeoutMs(60_000));
            case OFFSET_FOR_LEADER_EPOCH -> List.of(v -> new OffsetForLeaderEpochRequestData().setTopics(
                    new OffsetForLeaderEpochRequestData.OffsetForLeaderTopicCollection(List.of(
                            new OffsetForLeaderEpochRequestData.OffsetForLeaderTopic().setTopic(topic).setPartitions(
                                    List.of(new OffsetForLeaderEpochRequestData.OffsetForLeaderPartition()
                                            .setPartition(0).setLeaderEpoch(0)))).iterator())));
            case API_VERSIONS -> List.of(
                    v -> new ApiVersionsRequestData().setClientSoftwareName("fuzz").setClientSoftwareVersion("1"),
                    empty);
            // every filter field set to ANY (v0 knows only LITERAL patterns): a default-valued one names the
            // UNKNOWN resource type, which kafka-clients refuses to parse
            case DESCRIBE_ACLS -> List.of(v -> new org.apache.kafka.common.message.DescribeAclsRequestData()
                    .setResourceTypeFilter((byte) 1).setPatternTypeFilter((byte) (v == 0 ? 3 : 1))
                    .setOperation((byte) 1).setPermissionType((byte) 1));
            default -> List.of(empty);
        };
    }

    private static ApiMessage produce(String topic, Uuid topicId, byte[] records) {
        ProduceRequestData.TopicProduceData t = new ProduceRequestData.TopicProduceData()
                .setPartitionData(List.of(new ProduceRequestData.PartitionProduceData().setIndex(0)
                        .setRecords(MemoryRecords.readableRecords(ByteBuffer.wrap(records)))));
        if (topic != null) {
            t.setName(topic);
        } else {
            t.setTopicId(topicId);
        }
        return new ProduceRequestData().setAcks((short) -1).setTimeoutMs(5000)
                .setTopicData(new ProduceRequestData.TopicProduceDataCollection(List.of(t).iterator()));
    }

    private static ApiMessage fetch(String topic, Uuid topicId) {
        FetchRequestData.FetchTopic t = new FetchRequestData.FetchTopic().setPartitions(List.of(
                new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(0).setPartitionMaxBytes(65536)));
        if (topic != null) {
            t.setTopic(topic);
        } else {
            t.setTopicId(topicId);
        }
        return new FetchRequestData().setMaxWaitMs(0).setMinBytes(1).setMaxBytes(1 << 20).setTopics(List.of(t));
    }

    /** Throws unless kafka-clients parses {@code frame} (header and body) as a request, as a broker would. */
    private static void parsesAsRequest(ApiKeys key, short version, byte[] frame) {
        ByteBuffer buf = ByteBuffer.wrap(frame);
        org.apache.kafka.common.requests.RequestHeader.parse(buf);
        org.apache.kafka.common.requests.AbstractRequest.parseRequest(key, version, new ByteBufferAccessor(buf));
    }

    static byte[] serialize(ApiKeys key, short version, ApiMessage body) {
        RequestHeaderData header = new RequestHeaderData().setRequestApiKey(key.id).setRequestApiVersion(version)
                .setCorrelationId(0).setClientId("fuzz");
        short headerVersion = key.requestHeaderVersion(version);
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = header.size(cache, headerVersion) + body.size(cache, version);
        ByteBuffer buf = ByteBuffer.allocate(size);
        ByteBufferAccessor acc = new ByteBufferAccessor(buf);
        header.write(acc, cache, headerVersion);
        body.write(acc, cache, version);
        return buf.array();
    }

    /** One case: the bytes to send (size prefix included), whether it is a valid frame, whether its size is true. */
    private record Case(byte[] bytes, boolean valid, boolean exactSize, int correlationId) {
    }

    /** Builds the next case from {@code rnd}: a tenth random bytes, a fifth valid, the rest mutated. */
    private Case next(SplittableRandom rnd, int correlationId) {
        int kind = rnd.nextInt(100);
        if (kind < 8) {
            // random bytes of a random size, size prefix true
            return framed(randomBytes(rnd, rnd.nextInt(rnd.nextBoolean() ? 16 : 4096)), false, correlationId);
        }
        if (kind < 10) {
            // random bytes behind a random size prefix: the node must judge the size before allocating
            byte[] body = randomBytes(rnd, rnd.nextInt(64));
            ByteBuffer b = ByteBuffer.allocate(4 + body.length).putInt(rnd.nextInt()).put(body);
            return new Case(b.array(), false, false, correlationId);
        }
        Template t = templates.get(rnd.nextInt(templates.size()));
        byte[] frame = t.frame().clone();
        ByteBuffer.wrap(frame).putInt(4, correlationId);
        if (kind < 30) {
            return framed(frame, true, correlationId);
        }
        if (kind < 40) {
            // a valid header with a random body
            byte[] body = randomBytes(rnd, rnd.nextInt(256));
            byte[] f = Arrays.copyOf(frame, Math.min(frame.length, 8 + rnd.nextInt(Math.max(1, frame.length - 7))));
            byte[] joined = Arrays.copyOf(f, f.length + body.length);
            System.arraycopy(body, 0, joined, f.length, body.length);
            return framed(joined, false, correlationId);
        }
        int op = rnd.nextInt(6);
        if (op == 5) {
            // the size prefix lies: shorter (the rest reads as the next frame) or longer (the node waits for more)
            int declared = rnd.nextBoolean() ? rnd.nextInt(frame.length + 1) : frame.length + 1 + rnd.nextInt(64);
            return new Case(ByteBuffer.allocate(4 + frame.length).putInt(declared).put(frame).array(), false, false,
                    correlationId);
        }
        byte[] mutated = switch (op) {
            case 0 -> flipBits(rnd, frame);
            case 1 -> Arrays.copyOf(frame, rnd.nextInt(frame.length + 1));
            case 2 -> insert(rnd, frame);
            default -> overwriteLength(rnd, frame);
        };
        return framed(mutated, false, correlationId);
    }

    private static Case framed(byte[] frame, boolean valid, int correlationId) {
        return new Case(ByteBuffer.allocate(4 + frame.length).putInt(frame.length).put(frame).array(), valid, true,
                correlationId);
    }

    private static byte[] randomBytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) rnd.nextInt(256);
        }
        return b;
    }

    private static byte[] flipBits(SplittableRandom rnd, byte[] f) {
        int flips = 1 + rnd.nextInt(8);
        for (int i = 0; i < flips && f.length > 0; i++) {
            int bit = rnd.nextInt(f.length * 8);
            f[bit / 8] ^= (byte) (1 << (bit % 8));
        }
        return f;
    }

    private static byte[] insert(SplittableRandom rnd, byte[] f) {
        int at = rnd.nextInt(f.length + 1);
        byte[] extra = randomBytes(rnd, 1 + rnd.nextInt(16));
        byte[] out = new byte[f.length + extra.length];
        System.arraycopy(f, 0, out, 0, at);
        System.arraycopy(extra, 0, out, at, extra.length);
        System.arraycopy(f, at, out, at + extra.length, f.length - at);
        return out;
    }

    /** Overwrites 1, 2 or 4 bytes at a random place past the api key and version with a value near a boundary. */
    private static byte[] overwriteLength(SplittableRandom rnd, byte[] f) {
        int width = new int[] {1, 2, 4}[rnd.nextInt(3)];
        if (f.length < 4 + width) {
            return flipBits(rnd, f);
        }
        int at = 4 + rnd.nextInt(f.length - 4 - width + 1);
        int value = rnd.nextInt(4) == 0 ? rnd.nextInt() : INTERESTING[rnd.nextInt(INTERESTING.length)];
        for (int i = 0; i < width; i++) {
            f[at + i] = (byte) (value >>> (8 * (width - 1 - i)));
        }
        return f;
    }

    /**
     * Sends {@code total} cases from {@code threads} workers, each with its own stream of random numbers derived from
     * {@code seed}, and returns the counts once all are done or {@code deadlineNanos} (System.nanoTime) has passed.
     */
    Result run(long total, int threads, long seed, long deadlineNanos) throws InterruptedException {
        long started = System.nanoTime();
        AtomicLong remaining = new AtomicLong(total);
        SplittableRandom root = new SplittableRandom(seed);
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            SplittableRandom rnd = root.split();
            Thread t = new Thread(() -> work(rnd, remaining, deadlineNanos), "fuzz-" + i);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
        for (Thread t : workers) {
            t.join();
        }
        return new Result(cases.get(), answered.get(), closed.get(), unanswered.get(), connections.get(),
                validSent.get(), validAnswered.get(), validClosed.get(), validUnanswered.get(), validMisordered.get(),
                templates.size(), (System.nanoTime() - started) / 1e9);
    }

    private void work(SplittableRandom rnd, AtomicLong remaining, long deadlineNanos) {
        Socket socket = null;
        int correlationId = 0;
        byte[] header = new byte[4];
        byte[] drain = new byte[64 * 1024];
        while (remaining.getAndDecrement() > 0 && System.nanoTime() < deadlineNanos) {
            Case c = next(rnd, ++correlationId);
            try {
                if (socket == null) {
                    socket = connect();
                }
            } catch (IOException e) {
                // the node refused a connection: counted as a case the node closed on, then retried
                cases.incrementAndGet();
                closed.incrementAndGet();
                pause();
                continue;
            }
            cases.incrementAndGet();
            if (c.valid()) {
                validSent.incrementAndGet();
            }
            boolean keep = false;
            try {
                socket.setSoTimeout(c.exactSize() ? ANSWER_TIMEOUT_MS : LIAR_TIMEOUT_MS);
                OutputStream out = socket.getOutputStream();
                out.write(c.bytes());
                out.flush();
                DataInputStream in = new DataInputStream(socket.getInputStream());
                in.readFully(header);
                int size = ByteBuffer.wrap(header).getInt();
                if (size < 4 || size > 64 * 1024 * 1024) {
                    throw new IOException("response size " + size);
                }
                int cid = in.readInt();
                for (int left = size - 4; left > 0; ) {
                    int n = in.read(drain, 0, Math.min(left, drain.length));
                    if (n < 0) {
                        throw new EOFException();
                    }
                    left -= n;
                }
                answered.incrementAndGet();
                if (c.valid()) {
                    validAnswered.incrementAndGet();
                    if (cid != c.correlationId()) {
                        validMisordered.incrementAndGet();
                    }
                }
                // a frame whose size lied leaves bytes the node reads as another frame: start afresh
                keep = c.exactSize();
            } catch (SocketTimeoutException e) {
                unanswered.incrementAndGet();
                if (c.valid()) {
                    validUnanswered.incrementAndGet();
                }
            } catch (IOException e) {
                closed.incrementAndGet();
                if (c.valid()) {
                    validClosed.incrementAndGet();
                }
            }
            if (!keep) {
                abort(socket);
                socket = null;
            }
        }
        if (socket != null) {
            abort(socket);
        }
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(target, 5000);
            s.setSoTimeout(ANSWER_TIMEOUT_MS);
            // closes with a reset: no TIME_WAIT left behind for each of the many connections
            s.setSoLinger(true, 0);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        connections.incrementAndGet();
        return s;
    }

    private static void abort(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // already gone
        }
    }

    private static void pause() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
