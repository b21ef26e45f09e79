package io.runnel.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real kill -9 of a process that appends to a compacted log while its cleaner runs without pause:
 * after each kill, at a random moment, the log reopens with every acknowledged key at its last
 * acknowledged value or a later one, and cleaning carries on from there.
 */
@Timeout(120)
class CleanerKillNineTest {

    static final int KEYS = 50;

    @TempDir
    Path dir;

    static LogConfig config() {
        return CleanerTestSupport.compacted(16 * 1024, CleanerTestSupport.compaction(0, 0, Long.MAX_VALUE, 0.0));
    }

    /** The process under test: appends "k<i % KEYS>=<i>" one batch at a time and prints "acked i". */
    public static void main(String[] args) throws Exception {
        Path logDir = Path.of(args[0]);
        long from = Long.parseLong(args[1]);
        ExecutorService owner = Executors.newSingleThreadExecutor();
        LogCleaner cleaner = new LogCleaner(new CleanerConfig(true, 1, 1 << 20, 64 * 1024, Double.MAX_VALUE, 1),
                Time.SYSTEM);
        PartitionLog log = owner.submit(() -> PartitionLog.open(LogTestSupport.TP, logDir, config(), Time.SYSTEM)).get();
        cleaner.register(log, owner, log::logEndOffset);
        cleaner.startup();
        for (long i = from; ; i++) {
            long n = i;
            owner.submit(() -> log.appendAsLeader(CleanerTestSupport.keyedBatch(System.currentTimeMillis(),
                    "k" + (n % KEYS) + "=" + n), 0)).get();
            System.out.println("acked " + n + " cleanings " + cleaner.runs());
        }
    }

    @Test
    void killNineDuringCleaningLosesNoAcknowledgedValue() throws Exception {
        Path logDir = dir.resolve("t-0");
        Map<String, Long> acked = new HashMap<>();
        long next = 0;
        for (int round = 0; round < 6; round++) {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), CleanerKillNineTest.class.getName(),
                    logDir.toString(), Long.toString(next))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            long cleaningsWanted = 3 + ThreadLocalRandom.current().nextInt(20);
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    String[] parts = line.split(" ");
                    if (!parts[0].equals("acked")) {
                        continue;
                    }
                    long n = Long.parseLong(parts[1]);
                    acked.put("k" + (n % KEYS), n);
                    next = n + 1;
                    if (Long.parseLong(parts[3]) >= cleaningsWanted) {
                        p.destroyForcibly(); // SIGKILL
                        break;
                    }
                }
            }
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(next).as("the process acknowledged appends").isPositive();

            try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(logDir)) {
                // which step the kill interrupted, as the files left show it
                System.out.println("killed after " + next + " appends, leaving " + files.map(f -> f.getFileName().toString())
                        .filter(f -> f.endsWith(".cleaned") || f.endsWith(".swap") || f.endsWith(".deleted"))
                        .collect(java.util.stream.Collectors.groupingBy(f -> f.substring(f.lastIndexOf('.')),
                                java.util.TreeMap::new, java.util.stream.Collectors.counting())));
            }
            try (PartitionLog log = PartitionLog.open(LogTestSupport.TP, logDir, config(), Time.SYSTEM)) {
                Map<String, String> latest = CleanerTestSupport.latest(log);
                for (Map.Entry<String, Long> e : acked.entrySet()) {
                    assertThat(Long.parseLong(latest.get(e.getKey()))).as("value of %s", e.getKey())
                            .isGreaterThanOrEqualTo(e.getValue());
                }
                next = Math.max(next, log.logEndOffset());
            }
        }
    }
}
