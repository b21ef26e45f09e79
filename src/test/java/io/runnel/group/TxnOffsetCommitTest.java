package io.runnel.group;

import static io.runnel.group.GroupFixture.await;
import static io.runnel.group.GroupFixture.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.runnel.log.LogBatch;
import io.runnel.log.RecordSet;
import io.vertx.core.Future;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.message.DeleteGroupsResponseData.DeletableGroupResult;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocol;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocolCollection;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestPartition;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestTopic;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetDeleteRequestData.OffsetDeleteRequestPartition;
import org.apache.kafka.common.message.OffsetDeleteRequestData.OffsetDeleteRequestTopic;
import org.apache.kafka.common.message.OffsetDeleteRequestData.OffsetDeleteRequestTopicCollection;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopics;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseGroup;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponsePartitions;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Transactional offset commits: pending until the marker, replay, stable fetches, deletion and expiry. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class TxnOffsetCommitTest {

    private static final String GROUP = "txn-group-1";
    private static final long PID = 4000L;
    private static final Set<String> TOPICS = Set.of("t1", "t2");

    private final GroupConfig config = new GroupConfig(0, 100, 30_000, 10, 7L * 24 * 3600 * 1000, 600_000L, 4, 64);
    @RegisterExtension
    final GroupFixture fx = new GroupFixture(config, tp -> TOPICS.contains(tp.topic()) && tp.partition() < 3);

    private int partition() {
        return fx.coordinator.partitionFor(GROUP);
    }

    private TxnOffsetCommitRequestData txnRequest(long pid, short epoch, int generation, String member,
                                                  String topic, int partition, long offset) {
        return new TxnOffsetCommitRequestData().setTransactionalId("tx").setGroupId(GROUP).setProducerId(pid)
                .setProducerEpoch(epoch).setGenerationIdOrMemberEpoch(generation).setMemberId(member)
                .setTopics(List.of(new TxnOffsetCommitRequestTopic().setName(topic).setPartitions(List.of(
                        new TxnOffsetCommitRequestPartition().setPartitionIndex(partition).setCommittedOffset(offset)
                                .setCommittedLeaderEpoch(-1).setCommittedMetadata("m" + offset)))));
    }

    private Errors txnCommit(long pid, short epoch, String topic, int partition, long offset) {
        return txnCommit(txnRequest(pid, epoch, -1, "", topic, partition, offset));
    }

    private Errors txnCommit(TxnOffsetCommitRequestData request) {
        TxnOffsetCommitResponseData r = await(fx.coordinator.commitTransactionalOffsets(request));
        return Errors.forCode(r.topics().get(0).partitions().get(0).errorCode());
    }

    private Errors commit(String topic, int partition, long offset) {
        OffsetCommitRequestData request = new OffsetCommitRequestData().setGroupId(GROUP)
                .setGenerationIdOrMemberEpoch(-1).setMemberId("")
                .setTopics(List.of(new OffsetCommitRequestTopic().setName(topic).setPartitions(List.of(
                        new OffsetCommitRequestPartition().setPartitionIndex(partition).setCommittedOffset(offset)
                                .setCommittedMetadata("")))));
        return Errors.forCode(await(fx.coordinator.commitOffsets(request, (short) 9)).topics().get(0).partitions()
                .get(0).errorCode());
    }

    /** Writes the producer's marker to the group's offsets partition and calls the hook as its leader does. */
    private void endTxn(long pid, short epoch, boolean commit) {
        long at = fx.log.appendMarker(partition(), pid, epoch, commit);
        await(fx.coordinator.onTransactionCompleted(partition(), pid, commit, at));
    }

    private OffsetFetchResponsePartitions fetch(String topic, int partition, boolean requireStable) {
        OffsetFetchResponseGroup g = await(fx.coordinator.fetchOffsets(GROUP, List.of(new OffsetFetchRequestTopics()
                .setName(topic).setPartitionIndexes(List.of(partition))), requireStable));
        assertThat(g.errorCode()).isEqualTo(Errors.NONE.code());
        return g.topics().get(0).partitions().get(0);
    }

    private List<LogBatch> batches() {
        List<LogBatch> out = new ArrayList<>();
        List<Long> seen = new ArrayList<>();
        fx.log.replay(partition(), (b, r) -> {
            if (!seen.contains(b.baseOffset())) {
                seen.add(b.baseOffset());
                out.add(b);
            }
        });
        return out;
    }

    @Test
    void offsetsBecomeVisibleOnlyWhenTheTransactionCommits() {
        assertThat(txnCommit(PID, (short) 0, "t1", 0, 10)).isEqualTo(Errors.NONE);
        assertThat(fetch("t1", 0, false).committedOffset()).isEqualTo(-1);
        OffsetFetchResponsePartitions stable = fetch("t1", 0, true);
        assertThat(Errors.forCode(stable.errorCode())).isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT);
        assertThat(stable.committedOffset()).isEqualTo(-1);
        // another partition of the group is stable
        assertThat(Errors.forCode(fetch("t1", 1, true).errorCode())).isEqualTo(Errors.NONE);

        endTxn(PID, (short) 0, true);
        OffsetFetchResponsePartitions after = fetch("t1", 0, true);
        assertThat(Errors.forCode(after.errorCode())).isEqualTo(Errors.NONE);
        assertThat(after.committedOffset()).isEqualTo(10);
        assertThat(after.metadata()).isEqualTo("m10");
    }

    @Test
    void anAbortDropsTheOffsetsAndKeepsTheCommittedOnes() {
        assertThat(commit("t1", 0, 5)).isEqualTo(Errors.NONE);
        assertThat(txnCommit(PID, (short) 0, "t1", 0, 10)).isEqualTo(Errors.NONE);
        assertThat(fetch("t1", 0, false).committedOffset()).isEqualTo(5);
        endTxn(PID, (short) 0, false);
        OffsetFetchResponsePartitions after = fetch("t1", 0, true);
        assertThat(Errors.forCode(after.errorCode())).isEqualTo(Errors.NONE);
        assertThat(after.committedOffset()).isEqualTo(5);
        fx.restart(config);
        assertThat(fetch("t1", 0, true).committedOffset()).isEqualTo(5);
    }

    @Test
    void theBatchesAreTransactionalWithTheProducersIdEpochAndConsecutiveSequences() {
        assertThat(txnCommit(PID, (short) 3, "t1", 0, 1)).isEqualTo(Errors.NONE);
        assertThat(txnCommit(txnRequest(PID, (short) 3, -1, "", "t1", 1, 2)
                .setTopics(List.of(new TxnOffsetCommitRequestTopic().setName("t2").setPartitions(List.of(
                        new TxnOffsetCommitRequestPartition().setPartitionIndex(0).setCommittedOffset(7),
                        new TxnOffsetCommitRequestPartition().setPartitionIndex(1).setCommittedOffset(8))))))).isEqualTo(
                Errors.NONE);
        List<LogBatch> b = batches();
        assertThat(b).hasSize(2);
        assertThat(b.get(0).isTransactional()).isTrue();
        assertThat(b.get(0).producerId()).isEqualTo(PID);
        assertThat(b.get(0).producerEpoch()).isEqualTo((short) 3);
        assertThat(b.get(0).baseSequence()).isEqualTo(0);
        assertThat(b.get(1).baseSequence()).isEqualTo(1);
        assertThat(b.get(1).lastSequence()).isEqualTo(2);
        // a new coordinator learns where the sequence is from the log
        fx.restart(config);
        assertThat(txnCommit(PID, (short) 3, "t1", 2, 3)).isEqualTo(Errors.NONE);
        assertThat(batches().get(2).baseSequence()).isEqualTo(3);
        // a new epoch (after a marker that bumped it) starts at 0
        endTxn(PID, (short) 4, true);
        assertThat(txnCommit(PID, (short) 4, "t1", 2, 4)).isEqualTo(Errors.NONE);
        List<LogBatch> all = batches();
        assertThat(all.get(all.size() - 1).baseSequence()).isEqualTo(0);
        assertThat(all.get(all.size() - 1).producerEpoch()).isEqualTo((short) 4);
    }

    @Test
    void aReplayKeepsOpenTransactionsPendingAndAppliesMarkers() {
        long other = PID + 1;
        assertThat(txnCommit(PID, (short) 0, "t1", 0, 10)).isEqualTo(Errors.NONE);
        assertThat(txnCommit(other, (short) 0, "t1", 1, 20)).isEqualTo(Errors.NONE);
        assertThat(txnCommit(other + 1, (short) 0, "t1", 2, 30)).isEqualTo(Errors.NONE);
        endTxn(other, (short) 0, true);
        endTxn(other + 1, (short) 0, false);

        fx.restart(config);
        assertThat(fetch("t1", 0, false).committedOffset()).isEqualTo(-1);
        assertThat(Errors.forCode(fetch("t1", 0, true).errorCode())).isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT);
        assertThat(fetch("t1", 1, true).committedOffset()).isEqualTo(20);
        assertThat(fetch("t1", 2, true).committedOffset()).isEqualTo(-1);
        assertThat(Errors.forCode(fetch("t1", 2, true).errorCode())).isEqualTo(Errors.NONE);
        // the open one ends after the reload
        endTxn(PID, (short) 0, true);
        assertThat(fetch("t1", 0, true).committedOffset()).isEqualTo(10);
        fx.restart(config);
        assertThat(fetch("t1", 0, true).committedOffset()).isEqualTo(10);
    }

    @Test
    void theLaterRecordInTheLogWinsBetweenTransactionalAndPlainCommits() {
        // the transactional record first, a plain commit after it: the plain one stays
        assertThat(txnCommit(PID, (short) 0, "t1", 0, 10)).isEqualTo(Errors.NONE);
        assertThat(commit("t1", 0, 20)).isEqualTo(Errors.NONE);
        endTxn(PID, (short) 0, true);
        assertThat(fetch("t1", 0, true).committedOffset()).isEqualTo(20);
        // a plain commit first, the transactional one after it: the transaction's wins
        assertThat(commit("t1", 1, 50)).isEqualTo(Errors.NONE);
        assertThat(txnCommit(PID, (short) 0, "t1", 1, 40)).isEqualTo(Errors.NONE);
        endTxn(PID, (short) 0, true);
        assertThat(fetch("t1", 1, true).committedOffset()).isEqualTo(40);
        // and a replay decides the same
        fx.restart(config);
        assertThat(fetch("t1", 0, true).committedOffset()).isEqualTo(20);
        assertThat(fetch("t1", 1, true).committedOffset()).isEqualTo(40);
    }

    @Test
    void aStableFetchOfAllOffsetsMarksThePendingOnes() {
        assertThat(commit("t1", 0, 5)).isEqualTo(Errors.NONE);
        assertThat(commit("t1", 1, 6)).isEqualTo(Errors.NONE);
        assertThat(txnCommit(PID, (short) 0, "t1", 0, 10)).isEqualTo(Errors.NONE);
        OffsetFetchResponseGroup all = await(fx.coordinator.fetchOffsets(GROUP, null, true));
        List<OffsetFetchResponsePartitions> parts = all.topics().get(0).partitions();
        assertThat(parts).hasSize(2);
        assertThat(Errors.forCode(parts.get(0).errorCode())).isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT);
        assertThat(parts.get(1).committedOffset()).isEqualTo(6);
        OffsetFetchResponseGroup unstable = await(fx.coordinator.fetchOffsets(GROUP, null, false));
        assertThat(unstable.topics().get(0).partitions().get(0).committedOffset()).isEqualTo(5);
    }

    @Test
    void groupChecksAreThoseOfATransactionalCommit() throws Exception {
        // a group with a member in generation 1
        JoinGroupResponseData first = await(fx.coordinator.joinGroup(join(""), (short) 9, "client", "/127.0.0.1"));
        assertThat(Errors.forCode(first.errorCode())).isEqualTo(Errors.MEMBER_ID_REQUIRED);
        JoinGroupResponseData joined = await(fx.coordinator.joinGroup(join(first.memberId()), (short) 9, "client",
                "/127.0.0.1"));
        assertThat(joined.errorCode()).isEqualTo(Errors.NONE.code());
        String member = joined.memberId();
        int generation = joined.generationId();
        // before SyncGroup (CompletingRebalance), still accepted: the group's state is not enforced
        assertThat(txnCommit(txnRequest(PID, (short) 0, generation, member, "t1", 0, 1))).isEqualTo(Errors.NONE);
        assertThat(txnCommit(txnRequest(PID, (short) 0, generation + 1, member, "t1", 0, 1)))
                .isEqualTo(Errors.ILLEGAL_GENERATION);
        assertThat(txnCommit(txnRequest(PID, (short) 0, generation, "nobody", "t1", 0, 1)))
                .isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        // v0-v2 carry no member: accepted even though the group has members
        assertThat(txnCommit(txnRequest(PID, (short) 0, -1, "", "t1", 0, 2))).isEqualTo(Errors.NONE);
        // an unknown group with a generation
        assertThat(txnCommit(txnRequest(PID, (short) 0, 3, "m", "t1", 0, 1).setGroupId("other-group")))
                .isEqualTo(Errors.ILLEGAL_GENERATION);
        assertThat(txnCommit(txnRequest(PID, (short) 0, -1, "", "t1", 0, 1).setGroupId("")))
                .isEqualTo(Errors.INVALID_GROUP_ID);
        assertThat(txnCommit(PID, (short) 0, "nope", 0, 1)).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION);
        TxnOffsetCommitRequestData big = txnRequest(PID, (short) 0, -1, "", "t1", 0, 1);
        big.topics().get(0).partitions().get(0).setCommittedMetadata("x".repeat(100));
        assertThat(txnCommit(big)).isEqualTo(Errors.OFFSET_METADATA_TOO_LARGE);
    }

    private static JoinGroupRequestData join(String memberId) {
        ByteBuffer buf = ConsumerProtocol.serializeSubscription(new Subscription(List.of("t1")));
        byte[] metadata = new byte[buf.remaining()];
        buf.get(metadata);
        JoinGroupRequestProtocolCollection protocols = new JoinGroupRequestProtocolCollection();
        protocols.add(new JoinGroupRequestProtocol().setName("range").setMetadata(metadata));
        return new JoinGroupRequestData().setGroupId(GROUP).setMemberId(memberId).setSessionTimeoutMs(10_000)
                .setRebalanceTimeoutMs(1000).setProtocolType("consumer").setProtocols(protocols);
    }

    @Test
    void offsetDeleteTombstonesPendingOffsetsToo() {
        assertThat(txnCommit(PID, (short) 0, "t2", 0, 10)).isEqualTo(Errors.NONE);
        OffsetDeleteRequestTopicCollection topics = new OffsetDeleteRequestTopicCollection();
        topics.add(new OffsetDeleteRequestTopic().setName("t2").setPartitions(List.of(
                new OffsetDeleteRequestPartition().setPartitionIndex(0))));
        assertThat(await(fx.coordinator.deleteOffsets(new OffsetDeleteRequestData().setGroupId(GROUP)
                .setTopics(topics))).errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(Errors.forCode(fetch("t2", 0, true).errorCode())).isEqualTo(Errors.NONE);
        endTxn(PID, (short) 0, true);
        assertThat(fetch("t2", 0, true).committedOffset()).isEqualTo(-1);
        fx.restart(config);
        assertThat(fetch("t2", 0, true).committedOffset()).isEqualTo(-1);
    }

    @Test
    void deleteGroupsTombstonesPendingOffsetsSoACommitLaterMaterialisesNothing() {
        assertThat(txnCommit(PID, (short) 0, "t1", 0, 10)).isEqualTo(Errors.NONE);
        DeletableGroupResult r = await(fx.coordinator.deleteGroups(List.of(GROUP))).find(GROUP);
        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        endTxn(PID, (short) 0, true);
        assertThat(fetch("t1", 0, true).committedOffset()).isEqualTo(-1);
        fx.restart(config);
        assertThat(fetch("t1", 0, true).committedOffset()).isEqualTo(-1);
    }

    @Test
    void offsetsWithAnOpenTransactionDoNotExpireNorDoesTheGroup() throws InterruptedException {
        fx.restart(new GroupConfig(0, 100, 30_000, 10, 1000L, 50L, 4, 64));
        assertThat(commit("t1", 0, 42)).isEqualTo(Errors.NONE);
        assertThat(commit("t1", 1, 43)).isEqualTo(Errors.NONE);
        assertThat(txnCommit(PID, (short) 0, "t1", 0, 50)).isEqualTo(Errors.NONE);
        // t1-1 expires; t1-0, as old, has a pending transactional offset and stays, so does the group
        eventually(() -> fetch("t1", 1, false).committedOffset() == -1);
        Thread.sleep(300);
        assertThat(fetch("t1", 0, false).committedOffset()).isEqualTo(42);
        assertThat(await(fx.coordinator.listGroups(List.of(), List.of())).groups()).hasSize(1);
        // the transaction commits a fresh offset (retention counts from its TxnOffsetCommit)
        assertThat(txnCommit(PID, (short) 0, "t1", 0, 51)).isEqualTo(Errors.NONE);
        endTxn(PID, (short) 0, true);
        assertThat(fetch("t1", 0, true).committedOffset()).isEqualTo(51);
        // with the transaction over, retention applies again: the offset, then the group go
        eventually(() -> fetch("t1", 0, false).committedOffset() == -1);
        eventually(() -> await(fx.coordinator.listGroups(List.of(), List.of())).groups().isEmpty());
    }

    @Test
    void aMarkerWrittenWhileThePartitionLoadsIsAppliedAfterTheReplay() throws InterruptedException {
        assertThat(txnCommit(PID, (short) 0, "t1", 0, 10)).isEqualTo(Errors.NONE);
        await(fx.coordinator.close());
        InMemoryOffsetsLog shared = fx.log;
        CountDownLatch read = new CountDownLatch(1);
        CountDownLatch gate = new CountDownLatch(1);
        OffsetsLog slow = new OffsetsLog() {
            @Override
            public Future<Long> append(int partition, RecordSet records) {
                return shared.append(partition, records);
            }

            /** Reads the log, then waits before handing over what it read: a marker may land meanwhile. */
            @Override
            public void replay(int partition, ReplaySink sink) {
                List<Runnable> fed = new ArrayList<>();
                shared.replay(partition, (b, r) -> fed.add(() -> sink.accept(b, r)));
                read.countDown();
                try {
                    gate.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                fed.forEach(Runnable::run);
            }

            @Override
            public void close() {
            }
        };
        fx.coordinator = fx.following(config, slow);
        Future<Void> loaded = fx.coordinator.onElected(partition());
        assertThat(read.await(5, TimeUnit.SECONDS)).isTrue();
        long at = shared.appendMarker(partition(), PID, (short) 0, true);
        await(fx.coordinator.onTransactionCompleted(partition(), PID, true, at));
        gate.countDown();
        await(loaded);
        OffsetFetchResponsePartitions p = fetch("t1", 0, true);
        assertThat(Errors.forCode(p.errorCode())).isEqualTo(Errors.NONE);
        assertThat(p.committedOffset()).isEqualTo(10);
    }

    @Test
    void aMarkerAnnouncedWhileACommitIsBeingAppendedAppliesAfterIt() {
        // the transaction coordinator may end a transaction (a timeout abort) while a TxnOffsetCommit of it is
        // still being appended: the marker, later in the log, ends that commit too, as a replay would
        CountDownLatch slowDisk = new CountDownLatch(1);
        fx.log.gate = slowDisk;
        Future<TxnOffsetCommitResponseData> pending = fx.coordinator.commitTransactionalOffsets(
                txnRequest(PID, (short) 0, -1, "", "t1", 0, 10));
        Future<Void> marker = fx.coordinator.onTransactionCompleted(partition(), PID, true, Long.MAX_VALUE);
        assertThat(marker.isComplete()).isFalse();
        slowDisk.countDown();
        fx.log.gate = null;
        assertThat(await(pending).topics().get(0).partitions().get(0).errorCode()).isEqualTo(Errors.NONE.code());
        await(marker);
        OffsetFetchResponsePartitions p = fetch("t1", 0, true);
        assertThat(Errors.forCode(p.errorCode())).isEqualTo(Errors.NONE);
        assertThat(p.committedOffset()).isEqualTo(10);
    }

    @Test
    void aMarkerForAnotherPartitionOrProducerChangesNothing() {
        assertThat(txnCommit(PID, (short) 0, "t1", 0, 10)).isEqualTo(Errors.NONE);
        await(fx.coordinator.onTransactionCompleted((partition() + 1) % 4, PID, true, 1_000));
        await(fx.coordinator.onTransactionCompleted(partition(), PID + 7, true, 1_000));
        assertThat(Errors.forCode(fetch("t1", 0, true).errorCode())).isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT);
    }
}
