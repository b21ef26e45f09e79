package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A classic-protocol consumer group: partition split, commits, resume, and the Admin group APIs. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ConsumerGroupIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create();

    private static final long T = 30;
    private static final int KEYS = 20;

    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @AfterEach
    void stopMembers() throws InterruptedException {
        pool.shutdownNow();
        pool.awaitTermination(T, TimeUnit.SECONDS);
    }

    @Test
    void twoMembersSplitPartitionsCommitAndANewMemberResumesFromTheCommit() throws Exception {
        String topic = RunnelNode.uniqueName("group-topic");
        String group = RunnelNode.uniqueName("group");
        node.createTopic(topic, 4);
        Map<String, Object> groupConfig = Map.of(ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000,
                ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);

        Member a = new Member(groupConfig, topic);
        Member b = new Member(groupConfig, topic);
        a.future = CompletableFuture.runAsync(a, pool);
        b.future = CompletableFuture.runAsync(b, pool);
        Await.until("both members hold two partitions", () -> {
            failIfDead(a, b);
            Set<TopicPartition> union = new HashSet<>(a.assignment.get());
            union.addAll(b.assignment.get());
            return a.assignment.get().size() == 2 && b.assignment.get().size() == 2 && union.size() == 4;
        });

        KafkaProducer<String, String> producer = node.producer();
        int first = 200;
        send(producer, topic, 0, first);
        Await.until("all records consumed", () -> {
            failIfDead(a, b);
            return a.records.size() + b.records.size() >= first;
        });

        List<ConsumerRecord<String, String>> all = new ArrayList<>(a.records);
        all.addAll(b.records);
        assertThat(all).extracting(ConsumerRecord::value)
                .containsExactlyInAnyOrderElementsOf(values(0, first));
        for (Member m : List.of(a, b)) {
            Set<TopicPartition> mine = m.assignment.get();
            assertThat(m.records).isNotEmpty()
                    .allSatisfy(r -> assertThat(mine).contains(new TopicPartition(r.topic(), r.partition())));
            assertPerKeyOrder(m.records);
        }

        a.commit().get(T, TimeUnit.SECONDS);
        b.commit().get(T, TimeUnit.SECONDS);
        a.stop();
        b.stop();
        a.future.get(T, TimeUnit.SECONDS);
        b.future.get(T, TimeUnit.SECONDS);

        Map<TopicPartition, Long> committedExpected = new HashMap<>();
        all.forEach(r -> committedExpected.merge(new TopicPartition(topic, r.partition()), r.offset() + 1, Math::max));
        assertThat(committedExpected).hasSize(4);
        Map<TopicPartition, OffsetAndMetadata> committed = node.admin().listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
        assertThat(committed.entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset())))
                .isEqualTo(committedExpected);

        int more = 40;
        send(producer, topic, first, more);
        // auto.offset.reset=none: without a committed offset for every partition this consumer would fail.
        Map<String, Object> resumeConfig = new HashMap<>(groupConfig);
        resumeConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        KafkaConsumer<String, String> resumed = node.consumer(resumeConfig);
        resumed.subscribe(List.of(topic));
        List<ConsumerRecord<String, String>> after = ProducerConsumerIT.pollUntil(resumed, more);
        assertThat(after).extracting(ConsumerRecord::value)
                .containsExactlyInAnyOrderElementsOf(values(first, more));
        after.stream().collect(Collectors.groupingBy(r -> new TopicPartition(topic, r.partition())))
                .forEach((tp, recs) -> assertThat(recs.get(0).offset()).isEqualTo(committedExpected.get(tp)));
        assertPerKeyOrder(after);

        assertAdminSeesActiveGroup(group, topic, resumed);
        assertThatThrownBy(() -> node.admin().deleteConsumerGroups(List.of(group)).all().get(T, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(GroupNotEmptyException.class);

        resumed.close();
        Await.until("group empty", () -> describe(group).groupState() == GroupState.EMPTY);
        node.admin().deleteConsumerGroups(List.of(group)).all().get(T, TimeUnit.SECONDS);
        assertThat(groupIds()).doesNotContain(group);
        assertThat(node.admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                .get(T, TimeUnit.SECONDS)).isEmpty();
    }

    @Test
    void commitSyncWithExplicitOffsetsAndMetadataReadsBack() throws Exception {
        String topic = RunnelNode.uniqueName("group-explicit");
        String group = RunnelNode.uniqueName("group-explicit");
        node.createTopic(topic, 2);
        KafkaConsumer<String, String> consumer = node.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group));
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        consumer.assign(List.of(p0, p1));
        // Offsets may be committed beyond the log end: the broker does not check them.
        consumer.commitSync(Map.of(p0, new OffsetAndMetadata(7, "seven"), p1, new OffsetAndMetadata(0)));
        Map<TopicPartition, OffsetAndMetadata> read = consumer.committed(Set.of(p0, p1));
        assertThat(read.get(p0).offset()).isEqualTo(7);
        assertThat(read.get(p0).metadata()).isEqualTo("seven");
        assertThat(read.get(p1).offset()).isZero();
        assertThat(read.get(p1).metadata()).isEmpty();
        // A simple (assign-only) group shows up in the group listing too.
        assertThat(groupIds()).contains(group);
    }

    @SuppressWarnings("deprecation")
    private static void assertAdminSeesActiveGroup(String group, String topic, KafkaConsumer<String, String> member)
            throws Exception {
        Map<String, GroupListing> listed = node.admin().listGroups(ListGroupsOptions.forConsumerGroups()).all()
                .get(T, TimeUnit.SECONDS).stream().collect(Collectors.toMap(GroupListing::groupId, g -> g));
        assertThat(listed).containsKey(group);
        assertThat(listed.get(group).protocol()).isEqualTo("consumer");
        assertThat(listed.get(group).groupState()).contains(GroupState.STABLE);
        assertThat(listed.get(group).type()).contains(GroupType.CLASSIC);
        assertThat(node.admin().listConsumerGroups().all().get(T, TimeUnit.SECONDS))
                .extracting(ConsumerGroupListing::groupId).contains(group);

        ConsumerGroupDescription d = describe(group);
        assertThat(d.groupState()).isEqualTo(GroupState.STABLE);
        assertThat(d.type()).isEqualTo(GroupType.CLASSIC);
        assertThat(d.isSimpleConsumerGroup()).isFalse();
        // Every member lists [range, cooperative-sticky] (the 4.x default) and votes for its first choice.
        assertThat(d.partitionAssignor()).isEqualTo("range");
        assertThat(d.coordinator()).isNotNull();
        assertThat(d.members()).hasSize(1);
        MemberDescription m = d.members().iterator().next();
        assertThat(m.consumerId()).isEqualTo(member.groupMetadata().memberId());
        assertThat(m.clientId()).isNotBlank();
        assertThat(m.host()).isNotBlank();
        assertThat(m.assignment().topicPartitions())
                .containsExactlyInAnyOrderElementsOf(IntStream.range(0, 4)
                        .mapToObj(p -> new TopicPartition(topic, p)).toList());
    }

    private static ConsumerGroupDescription describe(String group) throws Exception {
        return node.admin().describeConsumerGroups(List.of(group)).describedGroups().get(group)
                .get(T, TimeUnit.SECONDS);
    }

    private static Set<String> groupIds() throws Exception {
        return node.admin().listGroups(ListGroupsOptions.forConsumerGroups()).all().get(T, TimeUnit.SECONDS)
                .stream().map(GroupListing::groupId).collect(Collectors.toSet());
    }

    /** Values are "key#sequence"; for one key the sequence must only grow. */
    private static void assertPerKeyOrder(Iterable<ConsumerRecord<String, String>> records) {
        Map<String, Integer> last = new HashMap<>();
        for (ConsumerRecord<String, String> r : records) {
            int seq = Integer.parseInt(r.value().substring(r.value().indexOf('#') + 1));
            Integer before = last.put(r.key(), seq);
            assertThat(before == null || before < seq).as("order of key %s: %s then %d", r.key(), before, seq)
                    .isTrue();
        }
    }

    private static void send(KafkaProducer<String, String> producer, String topic, int from, int count)
            throws Exception {
        List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            String key = "key" + (i % KEYS);
            acks.add(producer.send(new ProducerRecord<>(topic, key, key + "#" + i)));
        }
        producer.flush();
        for (java.util.concurrent.Future<?> f : acks) {
            f.get(T, TimeUnit.SECONDS);
        }
    }

    private static List<String> values(int from, int count) {
        return IntStream.range(from, from + count).mapToObj(i -> "key" + (i % KEYS) + "#" + i).toList();
    }

    private static void failIfDead(Member... members) throws Exception {
        for (Member m : members) {
            if (m.future.isDone()) {
                m.future.get();
                throw new AssertionError("member stopped early");
            }
        }
    }

    /** One group member, polled on its own thread; commits and stops on request from the test thread. */
    private static final class Member implements Runnable {
        final AtomicReference<Set<TopicPartition>> assignment = new AtomicReference<>(Set.of());
        final ConcurrentLinkedQueue<ConsumerRecord<String, String>> records = new ConcurrentLinkedQueue<>();
        private final Map<String, Object> config;
        private final String topic;
        private final AtomicReference<CompletableFuture<Void>> commitRequest = new AtomicReference<>();
        private volatile boolean stopped;
        CompletableFuture<Void> future;

        Member(Map<String, Object> config, String topic) {
            this.config = config;
            this.topic = topic;
        }

        CompletableFuture<Void> commit() {
            CompletableFuture<Void> done = new CompletableFuture<>();
            commitRequest.set(done);
            return done;
        }

        void stop() {
            stopped = true;
        }

        @Override
        public void run() {
            try (KafkaConsumer<String, String> consumer = node.consumer(config, false)) {
                consumer.subscribe(List.of(topic));
                while (!stopped && !Thread.currentThread().isInterrupted()) {
                    consumer.poll(Duration.ofMillis(100)).forEach(records::add);
                    assignment.set(Set.copyOf(consumer.assignment()));
                    CompletableFuture<Void> commit = commitRequest.getAndSet(null);
                    if (commit != null) {
                        try {
                            consumer.commitSync();
                            commit.complete(null);
                        } catch (RuntimeException e) {
                            commit.completeExceptionally(e);
                        }
                    }
                }
            }
        }
    }
}
