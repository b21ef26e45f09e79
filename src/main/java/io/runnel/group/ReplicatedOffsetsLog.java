package io.runnel.group;

import java.io.IOException;

import io.runnel.log.RecordSet;
import io.runnel.partition.InternalTopicLog;
import io.runnel.partition.PartitionManager;
import io.vertx.core.Future;
import org.apache.kafka.common.internals.Topic;

/**
 * {@link OffsetsLog} over the hosted partitions of the replicated {@code __consumer_offsets} topic: group records are
 * appended as acks=all ({@code offsets.commit.timeout.ms} at most), so committed offsets survive the loss of the
 * coordinator; see {@link InternalTopicLog}.
 *
 * <p>Threading: {@link #append} from any thread (the owner's context keeps the order of the calls);
 * {@link #replay} off the event loop.
 */
public final class ReplicatedOffsetsLog implements OffsetsLog {

    private final InternalTopicLog log;

    public ReplicatedOffsetsLog(PartitionManager partitions, long commitTimeoutMs) {
        this.log = new InternalTopicLog(partitions, Topic.GROUP_METADATA_TOPIC_NAME, commitTimeoutMs);
    }

    @Override
    public Future<Long> append(int partition, RecordSet records) {
        return log.append(partition, records).map(r -> r.firstOffset());
    }

    @Override
    public void replay(int partition, ReplaySink sink) throws IOException {
        log.replay(partition, sink::accept);
    }

    @Override
    public void close() {
        // the partitions are the partition manager's to close
    }
}
