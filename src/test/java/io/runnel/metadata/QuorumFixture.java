package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import io.runnel.testutil.Ports;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Voters of one metadata quorum in this JVM, each with a Raft port of its own (loopback) and a directory of its own
 * in a temporary one: {@code @RegisterExtension final QuorumFixture fx = new QuorumFixture("cluster", 3);} gives each
 * test its own voters, none started. A voter can be stopped ({@code nodes.remove(id).close()}) and started again at
 * the same address over the same directory, as a restarted process would be. After the test every voter still
 * running is stopped and the directories are deleted.
 */
final class QuorumFixture implements BeforeEachCallback, AfterEachCallback {

    static final int REQUEST_TIMEOUT_MS = 3000;

    final String cluster;
    final Map<Integer, MetadataQuorum> nodes = new HashMap<>();
    final List<QuorumConfig.Voter> voters = new ArrayList<>();
    private final int count;
    private Path dir;

    /** Voters 1 to {@code count} of the cluster (the Raft group) {@code cluster}. */
    QuorumFixture(String cluster, int count) {
        this.cluster = cluster;
        this.count = count;
    }

    @Override
    public void beforeEach(ExtensionContext test) throws IOException {
        dir = Files.createTempDirectory("quorum-");
        for (int id = 1; id <= count; id++) {
            voters.add(new QuorumConfig.Voter(id, "127.0.0.1", Ports.free()));
        }
    }

    /** Starts voter {@code id} over its directory (what it held before, if it ran before). */
    void start(int id) throws IOException {
        QuorumConfig config = new QuorumConfig(voters, true, dir.resolve("node" + id), id, 500, REQUEST_TIMEOUT_MS,
                100_000);
        MetadataQuorum q = new MetadataQuorum(config, cluster, new MetadataStateMachine(new MetadataImage(c -> false)));
        q.start("127.0.0.1", voters.get(id - 1).port());
        nodes.put(id, q);
    }

    void startAll() throws IOException {
        for (QuorumConfig.Voter v : voters) {
            start(v.nodeId());
        }
    }

    /** Waits (30 s at most) for a running voter to lead, ready, with every running voter following it. */
    int awaitLeader() throws InterruptedException {
        int[] leader = {-1};
        await("a leader every voter follows", () -> {
            for (Map.Entry<Integer, MetadataQuorum> e : nodes.entrySet()) {
                if (e.getValue().isLeaderReady()) {
                    leader[0] = e.getKey();
                    return nodes.values().stream().allMatch(q -> q.leaderId() == e.getKey());
                }
            }
            return false;
        });
        return leader[0];
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting for %s", what).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    @Override
    public void afterEach(ExtensionContext test) throws IOException {
        nodes.values().forEach(MetadataQuorum::close);
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }
}
