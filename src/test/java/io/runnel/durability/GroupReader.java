package io.runnel.durability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Consumers of one group reading a topic while faults happen, and what each of them read: the reader's side
 * of a Jepsen-style history. Each consumer commits after every poll, so a rebalance or a coordinator move
 * redelivers from the last commit (at least once); that is allowed. What is checked ({@link #check}):
 * <ul>
 *   <li>no offset holds two values (every read of partition p at offset o saw the same value);</li>
 *   <li>a value is read only at the offset its acknowledgement named (a record never moves);</li>
 *   <li>within one assignment of a partition to one consumer, offsets only go forward;</li>
 *   <li>every acknowledged value is delivered to the group at least once.</li>
 * </ul>
 *
 * <p>Threading: one thread per consumer; the accessors and {@link #check} from any thread, after {@link #stop}
 * for {@link #check}.
 */
final class GroupReader implements AutoCloseable {

    /** What the group read, checked against the acknowledgements. */
    record Result(long reads, long distinct, long redelivered, long twoValues, long moved, long backwards, long missed,
                  List<String> examples) {
        boolean ok() {
            return twoValues == 0 && moved == 0 && backwards == 0 && missed == 0;
        }

        @Override
        public String toString() {
            return "group read " + reads + " (" + distinct + " distinct, " + redelivered + " redelivered), offsets holding two values "
                    + twoValues + ", records moved " + moved + ", reads going backwards " + backwards
                    + ", acknowledged never delivered " + missed + (examples.isEmpty() ? "" : ", e.g. " + examples);
        }
    }

    private final String topic;
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    /** partition -> offset -> first value read there. */
    private final Map<Integer, Map<Long, String>> byOffset = new ConcurrentHashMap<>();
    /** value -> where it was first read, as partition << 48 | offset. */
    private final Map<String, Long> where = new ConcurrentHashMap<>();
    private final AtomicLong reads = new AtomicLong();
    private final AtomicLong redelivered = new AtomicLong();
    private final AtomicLong twoValues = new AtomicLong();
    private final AtomicLong backwards = new AtomicLong();
    private final List<String> examples = java.util.Collections.synchronizedList(new ArrayList<>());

    GroupReader(String bootstrap, String topic, String group, int consumers) {
        this.topic = topic;
        for (int i = 0; i < consumers; i++) {
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            cp.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
            cp.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
            cp.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
            cp.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
            cp.put(ConsumerConfig.CLIENT_ID_CONFIG, group + "-" + i);
            int id = i;
            threads.add(new Thread(() -> run(id, cp), "group-reader-" + i));
        }
    }

    GroupReader start() {
        threads.forEach(Thread::start);
        return this;
    }

    private void example(String s) {
        if (examples.size() < 5) {
            examples.add(s);
        }
    }

    private void run(int id, Properties cp) {
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            // the last offset this consumer read of each partition in its current assignment
            Map<Integer, Long> last = new HashMap<>();
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    partitions.forEach(tp -> last.remove(tp.partition()));
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    partitions.forEach(tp -> last.remove(tp.partition()));
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> partitions) {
                    partitions.forEach(tp -> last.remove(tp.partition()));
                }
            });
            while (!stop.get()) {
                try {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        record(id, r, last);
                    }
                    consumer.commitSync(Duration.ofSeconds(10));
                } catch (org.apache.kafka.common.errors.WakeupException e) {
                    return;
                } catch (RuntimeException e) {
                    // a commit refused by a rebalance or a coordinator move, a timeout: redelivery follows, not an error
                }
            }
        }
    }

    private void record(int id, ConsumerRecord<String, String> r, Map<Integer, Long> last) {
        reads.incrementAndGet();
        Long prev = last.put(r.partition(), r.offset());
        if (prev != null && r.offset() <= prev) {
            backwards.incrementAndGet();
            example("consumer " + id + " read " + r.partition() + "@" + r.offset() + " after " + prev);
        }
        String there = byOffset.computeIfAbsent(r.partition(), k -> new ConcurrentHashMap<>()).putIfAbsent(r.offset(), r.value());
        if (there != null && !there.equals(r.value())) {
            twoValues.incrementAndGet();
            example(r.partition() + "@" + r.offset() + " read as " + there + " and as " + r.value());
        }
        long pos = ((long) r.partition() << 48) | r.offset();
        Long was = where.putIfAbsent(r.value(), pos);
        if (was != null) {
            redelivered.incrementAndGet();
        }
    }

    /** How many distinct values the group has read. */
    int distinct() {
        return where.size();
    }

    /** Whether the group has read every one of {@code values}. */
    boolean hasRead(Collection<String> values) {
        return where.keySet().containsAll(values);
    }

    void stop() {
        stop.set(true);
        for (Thread t : threads) {
            try {
                t.join(20_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Checks what was read against {@code acked} (value -> acknowledgement). */
    Result check(Map<String, AckHistory.Ack> acked) {
        long moved = 0;
        long missed = 0;
        for (Map.Entry<String, AckHistory.Ack> e : acked.entrySet()) {
            Long pos = where.get(e.getKey());
            AckHistory.Ack a = e.getValue();
            if (pos == null) {
                missed++;
                example(e.getKey() + " acknowledged at " + a.partition() + "@" + a.offset() + " never delivered to the group");
            } else if (pos != (((long) a.partition() << 48) | a.offset())) {
                moved++;
                example(e.getKey() + " acknowledged at " + a.partition() + "@" + a.offset() + ", read at "
                        + (pos >>> 48) + "@" + (pos & 0xffffffffffffL));
            }
        }
        return new Result(reads.get(), where.size(), redelivered.get(), twoValues.get(), moved, backwards.get(), missed,
                List.copyOf(examples));
    }

    @Override
    public void close() {
        stop();
    }
}
