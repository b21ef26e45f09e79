package io.runnel.testutil;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The addresses of a cluster whose nodes run in the test's JVM (each a {@code Broker}): a free Hazelcast member
 * port per node, a free Raft port per voter of the metadata quorum, and a cluster name of its own, so that
 * clusters of concurrent tests never meet; and the properties that join a node to it.
 *
 * @param name        {@code cluster.name}
 * @param memberPorts the Hazelcast member port of node {@code i + 1} at index {@code i}
 * @param voters      {@code controller.quorum.voters}
 */
public record TestCluster(String name, int[] memberPorts, String voters) {

    /** A cluster of {@code nodes} nodes, all voters. */
    public static TestCluster allocate(String namePrefix, int nodes) {
        return allocate(namePrefix, nodes, nodes);
    }

    /** A cluster of {@code nodes} nodes, nodes 1 to {@code voters} the voters (the others brokers only). */
    public static TestCluster allocate(String namePrefix, int nodes, int voters) {
        int[] members = new int[nodes];
        for (int i = 0; i < nodes; i++) {
            members[i] = Ports.free();
        }
        List<String> quorum = new ArrayList<>();
        for (int id = 1; id <= voters; id++) {
            quorum.add(id + "@127.0.0.1:" + Ports.free());
        }
        return new TestCluster(namePrefix + "-" + UUID.randomUUID(), members, String.join(",", quorum));
    }

    /**
     * Node {@code id}'s {@code node.id} and what joins it to this cluster (Hazelcast membership through every
     * node's member port, the metadata quorum), with the event-bus bridge off: a mutable map, for the test's
     * own keys (listeners, log.dirs, ...).
     */
    public Map<String, String> nodeProps(int id) {
        List<String> members = new ArrayList<>();
        for (int port : memberPorts) {
            members.add("127.0.0.1:" + port);
        }
        Map<String, String> props = new HashMap<>();
        props.put("node.id", Integer.toString(id));
        props.put("cluster.enabled", "true");
        props.put("cluster.name", name);
        props.put("cluster.port", Integer.toString(memberPorts[id - 1]));
        props.put("cluster.port.count", "1");
        props.put("cluster.members", String.join(",", members));
        props.put("controller.quorum.voters", voters);
        props.put("bridge.enabled", "false");
        return props;
    }
}
