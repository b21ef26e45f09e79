package io.runnel.log;

/** Where an append comes from, which says what is checked (Kafka's AppendOrigin). */
public enum AppendOrigin {
    /** A producer's batches: control batches refused, producer epoch and sequence checked. */
    CLIENT,
    /**
     * Written by a coordinator on the leader (transaction markers, the group coordinator's records): control
     * batches allowed, producer and coordinator epochs checked, no sequence.
     */
    COORDINATOR,
    /** Copied from the leader or replayed from the log: nothing refused. */
    REPLICATION
}
