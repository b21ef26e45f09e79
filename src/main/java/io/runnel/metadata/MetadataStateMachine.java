package io.runnel.metadata;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;

import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.protocol.Errors;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The metadata log's state machine: applies each committed record to the {@link MetadataImage} and hands
 * what changed to the broker; snapshots are the image as JSON (one file per snapshot, Ratis's
 * {@code SimpleStateMachineStorage} layout), so a restart replays the newest snapshot plus the log after it.
 *
 * <p>Threading: Ratis calls {@link #applyTransaction} and {@link #takeSnapshot} from its single
 * state-machine updater thread; the {@link Listener} is called there too and must only hand work on
 * (onto the broker's metadata context). {@link #awaitApplied} may be called from any thread.
 */
public final class MetadataStateMachine extends BaseStateMachine {

    private static final Logger LOG = LoggerFactory.getLogger(MetadataStateMachine.class);

    /** What the broker learns from the log; called on Ratis's threads, in log order. */
    public interface Listener {
        /** A record applied, in log order; its delta is empty when it changed nothing (or was refused). */
        void onDelta(MetadataDelta delta);

        /** The image was replaced by a snapshot (at start or sent by the leader): resynchronise from it. */
        void onReset();

        /** The Raft leader changed ({@code null}: none known). */
        void onLeaderChanged(RaftPeerId leader);

        /** This node became the leader and has applied every record of earlier terms. */
        void onLeaderReady();
    }

    private final MetadataImage image;
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final PriorityQueue<Waiter> waiters = new PriorityQueue<>();
    private volatile Listener listener;
    private volatile java.util.function.Consumer<Throwable> logFailureHandler =
            cause -> LOG.error("Writing the metadata log failed", cause);

    private record Waiter(long index, CompletableFuture<Void> future) implements Comparable<Waiter> {
        @Override
        public int compareTo(Waiter o) {
            return Long.compare(index, o.index);
        }
    }

    public MetadataStateMachine(MetadataImage image) {
        this.image = image;
    }

    public void listener(Listener l) {
        this.listener = l;
    }

    public MetadataImage image() {
        return image;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        loadLatestSnapshot();
    }

    @Override
    public void reinitialize() throws IOException {
        loadLatestSnapshot();
        Listener l = listener;
        if (l != null) {
            l.onReset();
        }
    }

    private void loadLatestSnapshot() throws IOException {
        SingleFileSnapshotInfo snapshot = storage.getLatestSnapshot();
        if (snapshot == null) {
            return;
        }
        File file = snapshot.getFile().getPath().toFile();
        MD5Hash expected = snapshot.getFile().getFileDigest();
        if (expected != null) {
            MD5Hash actual = MD5FileUtil.computeMd5ForFile(file);
            if (!expected.equals(actual)) {
                throw new IOException("Metadata snapshot " + file + " is corrupt (MD5 " + actual + ", expected "
                        + expected + ")");
            }
        }
        image.load(new JsonObject(Files.readString(file.toPath(), StandardCharsets.UTF_8)));
        setLastAppliedTermIndex(snapshot.getTermIndex());
        LOG.info("Loaded metadata snapshot {} ({} topics, {} brokers)", snapshot.getTermIndex(),
                image.topics().size(), image.brokers().size());
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex last = getLastAppliedTermIndex();
        if (last == null || last.getIndex() < 0) {
            return -1;
        }
        File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        File tmp = new File(file.getParentFile(), file.getName() + ".tmp");
        byte[] bytes = image.toJson().encode().getBytes(StandardCharsets.UTF_8);
        try (var out = new java.io.FileOutputStream(tmp)) {
            out.write(bytes);
            out.getFD().sync();
        }
        Files.move(tmp.toPath(), file.toPath(), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last));
        return last.getIndex();
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        TermIndex ti = TermIndex.valueOf(entry);
        JsonObject reply;
        MetadataDelta delta = null;
        try {
            JsonObject record = new JsonObject(entry.getStateMachineLogEntry().getLogData().toStringUtf8());
            MetadataImage.Applied applied = image.apply(record, ti.getIndex(), ti.getTerm());
            reply = new JsonObject().put("ok", applied.reply());
            delta = applied.delta();
        } catch (io.runnel.cluster.StaleConfigsException stale) {
            reply = new JsonObject().put("stale", MetadataRecords.strings(stale.current()));
        } catch (ApiException e) {
            reply = error(Errors.forException(e), e.getMessage());
        } catch (RuntimeException e) {
            // a record no node can apply fails the same way everywhere; the log moves on
            LOG.error("Metadata record at {} could not be applied", ti, e);
            reply = error(Errors.UNKNOWN_SERVER_ERROR, e.toString());
        }
        updateLastAppliedTermIndex(ti.getTerm(), ti.getIndex());
        Listener l = listener;
        if (l != null) {
            // every record, refused ones included, so the broker's "acted on the log up to" offset moves past it
            l.onDelta(delta != null ? delta : new MetadataDelta(java.util.List.of(), java.util.List.of(),
                    java.util.List.of(), false, ti.getIndex()));
        }
        return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFromUtf8(reply.encode())));
    }

    private static JsonObject error(Errors error, String message) {
        return new JsonObject().put("error", (int) error.code()).put("message", message == null ? error.message() : message);
    }

    @Override
    protected boolean updateLastAppliedTermIndex(long term, long index) {
        boolean updated = super.updateLastAppliedTermIndex(term, index);
        completeWaiters(index);
        return updated;
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        // the leader's applied index: a broker waits for it before it answers "no such topic"
        TermIndex last = getLastAppliedTermIndex();
        return CompletableFuture.completedFuture(Message.valueOf(Long.toString(last == null ? -1 : last.getIndex())));
    }

    /** Completes once this node has applied the log up to {@code index}, on the applying thread. */
    public CompletableFuture<Void> awaitApplied(long index) {
        TermIndex last = getLastAppliedTermIndex();
        if (last != null && last.getIndex() >= index) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        synchronized (waiters) {
            waiters.add(new Waiter(index, f));
        }
        last = getLastAppliedTermIndex();
        if (last != null) {
            completeWaiters(last.getIndex());
        }
        return f;
    }

    public long appliedIndex() {
        TermIndex last = getLastAppliedTermIndex();
        return last == null ? -1 : last.getIndex();
    }

    private void completeWaiters(long index) {
        while (true) {
            Waiter w;
            synchronized (waiters) {
                w = waiters.peek();
                if (w == null || w.index() > index) {
                    return;
                }
                waiters.poll();
            }
            w.future().complete(null);
        }
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        Listener l = listener;
        if (l != null) {
            l.onLeaderChanged(newLeaderId);
        }
    }

    /** Sets what happens when Ratis cannot write the metadata log (an I/O error of its directory). */
    public void onLogFailed(java.util.function.Consumer<Throwable> handler) {
        this.logFailureHandler = handler;
    }

    /** Ratis's log worker failed to write an entry: the metadata log's directory is unusable. */
    @Override
    public void notifyLogFailed(Throwable cause, LogEntryProto failedEntry) {
        logFailureHandler.accept(cause);
    }

    @Override
    public void notifyLeaderReady() {
        Listener l = listener;
        if (l != null) {
            l.onLeaderReady();
        }
    }
}
