package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.runnel.log.LogBatch;
import io.runnel.log.LogConfig;
import io.runnel.log.LogRecord;
import io.runnel.log.PartitionLog;
import io.runnel.log.RecordSet;

/**
 * Three nodes as processes, RF=3, min.insync.replicas=2, an idempotent acks=all producer: the leader of
 * partition 0 is killed with kill -9, and while it is down its copy of partition 0 is torn in the middle of
 * its last batch and its copy of partition 1 gets a flipped bit in a batch of its active segment. It starts
 * again, cuts both at recovery, catches up from the new leaders and rejoins the ISRs: every acknowledged
 * record is read back once at its offset, and the damaged replica's own files hold every one of them.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class CorruptReplicaIT {

    private static final String TOPIC = "cr";

    @TempDir
    Path dir;
    private ProcessCluster cluster;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void damagedReplicaIsCutAtRecoveryAndCatchesUpFromTheLeader() throws Exception {
        cluster = new ProcessCluster(dir, Map.of("replica.lag.time.max.ms", "5000"));
        cluster.startAll();
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        try (Admin admin = Admin.create(ap)) {
            ProcessCluster.createReplicatedTopic(admin, TOPIC, 2);
            ProcessCluster.await("full ISRs", Duration.ofSeconds(90), () -> fullIsrs(admin));
            try (AckHistory history = new AckHistory(cluster.bootstrap(), TOPIC, 2).start()) {
                history.awaitProgress("before the kill", 800, Duration.ofSeconds(90));
                int victim = ProcessCluster.describe(admin, TOPIC).partitions().get(0).leader().id();
                cluster.kill(victim);
                Path nodeDir = dir.resolve("node" + victim);
                Path p0 = nodeDir.resolve(TOPIC + "-0");
                Path p1 = nodeDir.resolve(TOPIC + "-1");
                List<Path> segs0 = CorruptFiles.segments(p0);
                List<CorruptFiles.Batch> last0 = CorruptFiles.batches(segs0.get(segs0.size() - 1));
                CorruptFiles.Batch torn = last0.get(last0.size() - 1);
                CorruptFiles.tear(segs0.get(segs0.size() - 1), torn);
                List<Path> segs1 = CorruptFiles.segments(p1);
                List<CorruptFiles.Batch> last1 = CorruptFiles.batches(segs1.get(segs1.size() - 1));
                CorruptFiles.Batch flipped = last1.get(last1.size() / 2);
                CorruptFiles.flipBit(segs1.get(segs1.size() - 1), flipped);
                long end0 = torn.lastOffset() + 1;
                long end1 = last1.get(last1.size() - 1).lastOffset() + 1;

                history.awaitProgress("without node " + victim, 300, Duration.ofSeconds(90));
                long restart = System.nanoTime();
                cluster.start(victim);
                ProcessCluster.await("node " + victim + " back in both ISRs", Duration.ofSeconds(90),
                        () -> fullIsrs(admin), () -> cluster.describeEverywhere(TOPIC));
                long rejoinMs = (System.nanoTime() - restart) / 1_000_000;
                history.awaitProgress("after the rejoin", 200, Duration.ofSeconds(90));
                history.finish();
                AckHistory.Result result = history.check(cluster.bootstrap());

                // the damaged replica's own copy: every acknowledged record at its offset
                cluster.kill(victim);
                Map<String, AckHistory.Ack> acked = history.acked();
                long missing0 = missingIn(p0, 0, acked);
                long missing1 = missingIn(p1, 1, acked);
                String output = Files.readString(cluster.logDir().resolve("node" + victim + ".log"));
                boolean cut0 = output.contains(TOPIC + "-0: truncated");
                boolean cut1 = output.contains(TOPIC + "-1: truncated");
                String line = "corrupt-files runnel cluster (a torn tail + b flipped bit on the killed leader " + victim
                        + "'s replicas): " + result + "; replica " + victim + " cut partition 0 at " + torn.baseOffset()
                        + " (end was " + end0 + ", cut logged " + cut0 + ") and partition 1 at " + flipped.baseOffset()
                        + " (end was " + end1 + ", cut logged " + cut1 + "), back in both ISRs " + rejoinMs
                        + " ms after its restart; acknowledged records missing from its files afterwards: partition 0 "
                        + missing0 + ", partition 1 " + missing1;
                System.out.println(line);
                Path out = Path.of("target", "faults", "corrupt.txt");
                Files.createDirectories(out.getParent());
                Files.writeString(out, line + System.lineSeparator(), StandardOpenOption.CREATE, StandardOpenOption.APPEND);

                assertThat(result.acked()).isGreaterThan(1000);
                assertThat(result.lost()).as("acknowledged records lost: %s", result).isZero();
                assertThat(result.duplicated()).as("duplicated: %s", result).isZero();
                assertThat(cut0 && cut1).as("both damaged tails cut at recovery").isTrue();
                assertThat(missing0 + missing1).as("acknowledged records missing from the repaired replica").isZero();
                assertThat(output).doesNotContain("has been blocked for");
            }
        }
    }

    private static boolean fullIsrs(Admin admin) {
        TopicDescription d = ProcessCluster.describe(admin, TOPIC);
        return d != null && d.partitions().size() == 2
                && d.partitions().stream().allMatch(p -> p.leader() != null && p.isr().size() == 3);
    }

    /** Acknowledged records of partition {@code p} not at their offset in the partition directory {@code dir}. */
    private static long missingIn(Path dir, int p, Map<String, AckHistory.Ack> acked) throws Exception {
        Map<Long, String> values = new HashMap<>();
        try (PartitionLog log = PartitionLog.open(new TopicPartition(TOPIC, p), dir, LogConfig.defaults(), Time.SYSTEM)) {
            long next = log.logStartOffset();
            while (next < log.logEndOffset()) {
                RecordSet records = log.read(next, 1 << 20, Long.MAX_VALUE, true).records().toRecordSet();
                long before = next;
                for (LogBatch b : records.batches()) {
                    for (LogRecord r : b) {
                        byte[] v = new byte[r.value().remaining()];
                        r.value().get(v);
                        values.put(r.offset(), new String(v, StandardCharsets.UTF_8));
                    }
                    next = b.nextOffset();
                }
                assertThat(next).as("read progress in %s", dir).isGreaterThan(before);
            }
        }
        return acked.entrySet().stream().filter(e -> e.getValue().partition() == p)
                .filter(e -> !e.getKey().equals(values.get(e.getValue().offset()))).count();
    }
}
