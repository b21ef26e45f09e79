package io.runnel.cluster;

import java.util.Map;

import org.apache.kafka.common.Uuid;

/**
 * Which broker processes are alive, as failure detection sees them: what the controller turns into
 * fence records. Only a hint: nothing acts on it but the controller, and the metadata log makes its
 * decisions durable.
 */
public interface Membership {

    /** Live broker processes: node id to the incarnation of the process. Any thread, never blocks. */
    Map<Integer, Uuid> liveBrokers();

    /** Calls {@code listener} (on any thread) after every change of {@link #liveBrokers()}. */
    void onChange(Runnable listener);

    /** A node that runs alone: itself is the only member there is. */
    static Membership local(int nodeId, Uuid incarnation) {
        return new Membership() {
            @Override
            public Map<Integer, Uuid> liveBrokers() {
                return Map.of(nodeId, incarnation);
            }

            @Override
            public void onChange(Runnable listener) {
            }
        };
    }
}
