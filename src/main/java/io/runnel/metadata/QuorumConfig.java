package io.runnel.metadata;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.runnel.config.BrokerConfig;
import org.apache.kafka.common.config.ConfigException;

/**
 * The metadata quorum as the configuration describes it, with Kafka's names: the voters
 * ({@code controller.quorum.voters=id@host:port,...}), whether this node is one of them
 * ({@code process.roles}) and where the Raft storage lives ({@code metadata.log.dir}).
 *
 * <p>With no voters configured the node is a quorum of one on 127.0.0.1 and a port the OS picks: a single
 * node needs no setting, and takes the same code path as a cluster.
 *
 * @param voters      the voting members, in configured order
 * @param localVoter  whether this node votes (otherwise it follows the log as a non-voting learner)
 * @param storageDir  the Raft storage directory
 */
public record QuorumConfig(List<Voter> voters, boolean localVoter, Path storageDir, int localNodeId,
                           int electionTimeoutMs, int requestTimeoutMs, long snapshotIntervalRecords) {

    /** A voter: its node id and the address of its Raft transport (not its Kafka listener). */
    public record Voter(int nodeId, String host, int port) {
        public String address() {
            return host + ":" + port;
        }
    }

    /** Name of the Raft storage directory under {@code metadata.log.dir}. */
    public static final String STORAGE_DIR_NAME = "__cluster_metadata";

    public static QuorumConfig from(BrokerConfig config) {
        List<String> roles = config.getList(BrokerConfig.PROCESS_ROLES).stream().map(String::trim)
                .filter(r -> !r.isEmpty()).toList();
        Set<String> roleSet = new HashSet<>(roles);
        if (!roleSet.contains("broker") || !Set.of("broker", "controller").containsAll(roleSet)) {
            throw new ConfigException(BrokerConfig.PROCESS_ROLES, String.join(",", roles),
                    "must be 'broker,controller' (a voter that also serves clients) or 'broker' (a learner);"
                            + " controller-only nodes are not supported");
        }
        boolean controller = roleSet.contains("controller");
        int self = config.nodeId();
        List<Voter> voters = parseVoters(config.getList(BrokerConfig.CONTROLLER_QUORUM_VOTERS));
        if (voters.isEmpty()) {
            if (!controller) {
                throw new ConfigException(BrokerConfig.CONTROLLER_QUORUM_VOTERS, "",
                        "must list the voters when process.roles=broker");
            }
            voters = List.of(new Voter(self, "127.0.0.1", 0));
        }
        boolean listed = voters.stream().anyMatch(v -> v.nodeId() == self);
        if (controller && !listed) {
            throw new ConfigException(BrokerConfig.CONTROLLER_QUORUM_VOTERS, String.join(",",
                    config.getList(BrokerConfig.CONTROLLER_QUORUM_VOTERS)),
                    "must list this node (node.id=" + self + ") since process.roles includes controller");
        }
        if (!controller && listed) {
            throw new ConfigException(BrokerConfig.PROCESS_ROLES, String.join(",", roles),
                    "node " + self + " is listed in controller.quorum.voters, so it must include controller");
        }
        if (voters.size() > 1 && !config.getBoolean(BrokerConfig.CLUSTER_ENABLED)) {
            throw new ConfigException(BrokerConfig.CONTROLLER_QUORUM_VOTERS, String.join(",",
                    config.getList(BrokerConfig.CONTROLLER_QUORUM_VOTERS)),
                    "a quorum of several nodes needs cluster.enabled=true (membership and failure detection)");
        }
        String dir = config.getString(BrokerConfig.METADATA_LOG_DIR);
        Path base = Path.of(dir != null ? dir : config.logDirs().get(0)).toAbsolutePath();
        return new QuorumConfig(voters, controller, base.resolve(STORAGE_DIR_NAME), self,
                config.getInt(BrokerConfig.CONTROLLER_QUORUM_ELECTION_TIMEOUT_MS),
                config.getInt(BrokerConfig.CONTROLLER_QUORUM_REQUEST_TIMEOUT_MS),
                config.getLong(BrokerConfig.METADATA_SNAPSHOT_INTERVAL_RECORDS));
    }

    static List<Voter> parseVoters(List<String> entries) {
        List<Voter> voters = new ArrayList<>();
        Set<Integer> ids = new HashSet<>();
        for (String raw : entries == null ? List.<String>of() : entries) {
            String e = raw.trim();
            if (e.isEmpty()) {
                continue;
            }
            int at = e.indexOf('@');
            int colon = e.lastIndexOf(':');
            if (at <= 0 || colon < at + 2 || colon == e.length() - 1) {
                throw new ConfigException(BrokerConfig.CONTROLLER_QUORUM_VOTERS, e, "expected id@host:port");
            }
            try {
                int id = Integer.parseInt(e.substring(0, at));
                int port = Integer.parseInt(e.substring(colon + 1));
                if (id < 0 || port < 1 || port > 65535) {
                    throw new NumberFormatException();
                }
                if (!ids.add(id)) {
                    throw new ConfigException(BrokerConfig.CONTROLLER_QUORUM_VOTERS, e, "node " + id + " is listed twice");
                }
                voters.add(new Voter(id, e.substring(at + 1, colon), port));
            } catch (NumberFormatException nfe) {
                throw new ConfigException(BrokerConfig.CONTROLLER_QUORUM_VOTERS, e,
                        "expected id@host:port with a node id >= 0 and a port from 1 to 65535");
            }
        }
        return voters;
    }

    public int majority() {
        return voters.size() / 2 + 1;
    }
}
