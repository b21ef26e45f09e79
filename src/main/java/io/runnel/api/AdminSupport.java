package io.runnel.api;

import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Helpers shared by the admin handlers (topics, partitions, configs). Stateless; any thread. */
final class AdminSupport {

    private static final Logger LOG = LoggerFactory.getLogger(AdminSupport.class);

    private AdminSupport() {
    }

    /**
     * The wire error for a failure on {@code subject}, as Kafka's ApiError.fromThrowable gives it (an
     * unexpected exception becomes UNKNOWN_SERVER_ERROR without its internals, and is logged once here).
     */
    static ApiError apiError(Object subject, Throwable e) {
        ApiError error = ApiError.fromThrowable(e);
        if (error.error() == Errors.UNKNOWN_SERVER_ERROR) {
            LOG.error("Unexpected failure on {}", subject, e);
        }
        return error;
    }

    /**
     * Kafka's validateManualPartitionAssignment with this node as the only registered broker.
     *
     * @param replicationFactor the replica count of the partitions before this one, or null for the first
     * @return null when valid
     */
    static ApiError validateAssignment(List<Integer> brokerIds, Integer replicationFactor, int nodeId) {
        if (brokerIds.isEmpty()) {
            return new ApiError(Errors.INVALID_REPLICA_ASSIGNMENT,
                    "The manual partition assignment includes an empty replica list.");
        }
        List<Integer> sorted = new ArrayList<>(brokerIds);
        sorted.sort(Integer::compare);
        Integer previous = null;
        for (Integer id : sorted) {
            if (id != nodeId) {
                return new ApiError(Errors.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes broker "
                        + id + ", but no such broker is registered.");
            }
            if (id.equals(previous)) {
                return new ApiError(Errors.INVALID_REPLICA_ASSIGNMENT,
                        "The manual partition assignment includes the broker " + previous + " more than once.");
            }
            previous = id;
        }
        if (replicationFactor != null && sorted.size() != replicationFactor) {
            return new ApiError(Errors.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes a partition with "
                    + sorted.size() + " replica(s), but this is not consistent with previous partitions, which have "
                    + replicationFactor + " replica(s).");
        }
        return null;
    }
}
