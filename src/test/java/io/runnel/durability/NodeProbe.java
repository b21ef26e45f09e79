package io.runnel.durability;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.runnel.testutil.RawKafkaClient;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeClusterResponseData;
import org.apache.kafka.common.message.DescribeQuorumRequestData;
import org.apache.kafka.common.message.DescribeQuorumResponseData;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;

/**
 * Questions asked of one chosen broker over its own connection, so the answer is that broker's view (an
 * admin client picks whichever node it likes): who it names as leaders and as group coordinator, whether
 * it serves a partition as leader, what it says the controller is. Each call opens and closes a connection;
 * a broker that does not answer within the socket timeout makes it throw IOException.
 */
final class NodeProbe {

    private final String address;

    NodeProbe(String address) {
        this.address = address;
    }

    private ByteBuffer ask(ApiKeys key, short version, ApiMessage body) throws IOException {
        try (RawKafkaClient c = new RawKafkaClient(address)) {
            c.send(key, version, body);
            return c.receive(key, version);
        }
    }

    /** The leader this broker names for each partition of {@code topic} (-1 for none); empty if it does not know the topic. */
    Map<Integer, Integer> leaders(String topic) throws IOException {
        Map<Integer, Integer> out = new TreeMap<>();
        partitions(topic).forEach((p, state) -> out.put(p, state.leader()));
        return out;
    }

    /** A partition as a broker's Metadata names it: its leader (-1 for none) and ISR. */
    record PartitionState(int leader, List<Integer> isr) {
    }

    /** Each partition of {@code topic} as this broker names it; empty if it does not know the topic. */
    Map<Integer, PartitionState> partitions(String topic) throws IOException {
        short v = 12;
        MetadataRequestData req = new MetadataRequestData().setAllowAutoTopicCreation(false)
                .setTopics(List.of(new MetadataRequestData.MetadataRequestTopic().setName(topic)));
        MetadataResponseData resp = new MetadataResponseData(new ByteBufferAccessor(ask(ApiKeys.METADATA, v, req)), v);
        Map<Integer, PartitionState> out = new TreeMap<>();
        for (MetadataResponseData.MetadataResponseTopic t : resp.topics()) {
            if (t.errorCode() == Errors.NONE.code()) {
                for (MetadataResponseData.MetadataResponsePartition p : t.partitions()) {
                    out.put(p.partitionIndex(), new PartitionState(
                            p.errorCode() == Errors.NONE.code() ? p.leaderId() : -1, List.copyOf(p.isrNodes())));
                }
            }
        }
        return out;
    }

    /** The answer to ListOffsets(latest) for one partition: the error, and the high watermark when served. */
    record Offset(Errors error, long offset) {
    }

    Offset latestOffset(String topic, int partition) throws IOException {
        short v = 5;
        ListOffsetsRequestData req = new ListOffsetsRequestData().setReplicaId(-1).setIsolationLevel((byte) 0)
                .setTopics(List.of(new ListOffsetsRequestData.ListOffsetsTopic().setName(topic)
                        .setPartitions(List.of(new ListOffsetsRequestData.ListOffsetsPartition()
                                .setPartitionIndex(partition).setTimestamp(-1L).setCurrentLeaderEpoch(-1)))));
        ListOffsetsResponseData resp = new ListOffsetsResponseData(
                new ByteBufferAccessor(ask(ApiKeys.LIST_OFFSETS, v, req)), v);
        ListOffsetsResponseData.ListOffsetsPartitionResponse p = resp.topics().get(0).partitions().get(0);
        return new Offset(Errors.forCode(p.errorCode()), p.offset());
    }

    /** The coordinator this broker names for {@code group}: its node id, or the error. */
    record Coordinator(Errors error, int nodeId) {
    }

    Coordinator coordinator(String group) throws IOException {
        short v = 3;
        FindCoordinatorRequestData req = new FindCoordinatorRequestData().setKey(group).setKeyType((byte) 0);
        FindCoordinatorResponseData resp = new FindCoordinatorResponseData(
                new ByteBufferAccessor(ask(ApiKeys.FIND_COORDINATOR, v, req)), v);
        return new Coordinator(Errors.forCode(resp.errorCode()), resp.nodeId());
    }

    /** The group-level error of OffsetFetch for {@code group} (NONE when this broker serves as its coordinator). */
    Errors offsetFetch(String group) throws IOException {
        short v = 7;
        OffsetFetchRequestData req = new OffsetFetchRequestData().setGroupId(group).setTopics(null);
        OffsetFetchResponseData resp = new OffsetFetchResponseData(
                new ByteBufferAccessor(ask(ApiKeys.OFFSET_FETCH, v, req)), v);
        return Errors.forCode(resp.errorCode());
    }

    /** The controller id this broker reports. */
    int controller() throws IOException {
        short v = 0;
        DescribeClusterResponseData resp = new DescribeClusterResponseData(new ByteBufferAccessor(
                ask(ApiKeys.DESCRIBE_CLUSTER, v, new DescribeClusterRequestData())), v);
        return resp.controllerId();
    }

    /**
     * The leader of the metadata quorum (the active controller) as DescribeQuorum answers it through this broker
     * (a Kafka broker forwards the request to the controller it knows, as for {@code Admin.describeMetadataQuorum()}),
     * or -1 when the answer is an error; throws IOException when none comes within {@code timeoutMs}.
     */
    int quorumLeader(int timeoutMs) throws IOException {
        short v = 0;
        DescribeQuorumRequestData req = new DescribeQuorumRequestData().setTopics(List.of(
                new DescribeQuorumRequestData.TopicData().setTopicName("__cluster_metadata")
                        .setPartitions(List.of(new DescribeQuorumRequestData.PartitionData().setPartitionIndex(0)))));
        ByteBuffer answer;
        try (RawKafkaClient c = new RawKafkaClient(address)) {
            c.readTimeout(timeoutMs);
            c.send(ApiKeys.DESCRIBE_QUORUM, v, req);
            answer = c.receive(ApiKeys.DESCRIBE_QUORUM, v);
        }
        DescribeQuorumResponseData resp = new DescribeQuorumResponseData(new ByteBufferAccessor(answer), v);
        if (resp.errorCode() != Errors.NONE.code() || resp.topics().isEmpty() || resp.topics().get(0).partitions().isEmpty()) {
            return -1;
        }
        DescribeQuorumResponseData.PartitionData p = resp.topics().get(0).partitions().get(0);
        return p.errorCode() == Errors.NONE.code() ? p.leaderId() : -1;
    }

    /** CreateTopics of one topic of one partition through this broker; the answer's error for it. */
    Errors createTopic(String name, short replicationFactor, int timeoutMs) throws IOException {
        short v = 5;
        CreateTopicsRequestData req = new CreateTopicsRequestData().setTimeoutMs(timeoutMs);
        req.topics().add(new CreateTopicsRequestData.CreatableTopic().setName(name).setNumPartitions(1)
                .setReplicationFactor(replicationFactor));
        CreateTopicsResponseData resp = new CreateTopicsResponseData(
                new ByteBufferAccessor(ask(ApiKeys.CREATE_TOPICS, v, req)), v);
        return Errors.forCode(resp.topics().iterator().next().errorCode());
    }
}
