package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.runnel.cluster.TopicInfo;
import org.apache.kafka.common.message.CreatePartitionsRequestData;
import org.apache.kafka.common.message.CreatePartitionsRequestData.CreatePartitionsAssignment;
import org.apache.kafka.common.message.CreatePartitionsRequestData.CreatePartitionsTopic;
import org.apache.kafka.common.message.CreatePartitionsResponseData;
import org.apache.kafka.common.message.CreatePartitionsResponseData.CreatePartitionsTopicResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class CreatePartitionsHandlerTest {

    @TempDir
    Path dir;
    AdminFixture fx;
    CreatePartitionsHandler handler;

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir);
        handler = new CreatePartitionsHandler(fx.config, fx.topics);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private CreatePartitionsResponseData grow(boolean validateOnly, CreatePartitionsTopic... topics) {
        CreatePartitionsRequestData req = new CreatePartitionsRequestData().setValidateOnly(validateOnly);
        for (CreatePartitionsTopic t : topics) {
            req.topics().add(t);
        }
        return await(handler.handle(fx.ctx(ApiKeys.CREATE_PARTITIONS, 3), req));
    }

    private static CreatePartitionsTopic to(String name, int count) {
        return new CreatePartitionsTopic().setName(name).setCount(count).setAssignments(null);
    }

    private static CreatePartitionsTopicResult result(CreatePartitionsResponseData resp, String name) {
        return resp.results().stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void countsThatDoNotGrowTheTopicAreInvalidPartitions() {
        fx.topic("t", 3, Map.of());

        CreatePartitionsResponseData resp = grow(false, to("t", 3), to("missing", 2));
        CreatePartitionsResponseData shrink = grow(false, to("t", 2));

        assertThat(result(resp, "t").errorCode()).isEqualTo(Errors.INVALID_PARTITIONS.code());
        assertThat(result(resp, "t").errorMessage()).isEqualTo("Topic already has 3 partition(s).");
        assertThat(result(resp, "missing").errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        assertThat(result(resp, "missing").errorMessage()).isNull();
        assertThat(result(shrink, "t").errorMessage())
                .isEqualTo("The topic t currently has 3 partition(s); 2 would not be an increase.");
    }

    @Test
    void duplicateNamesAreOneInvalidRequestListedFirst() {
        fx.topic("d", 1, Map.of());
        fx.topic("e", 1, Map.of());

        CreatePartitionsResponseData resp = grow(true, to("e", 2), to("d", 2), to("d", 3));

        assertThat(resp.results()).extracting(CreatePartitionsTopicResult::name).containsExactly("d", "e");
        assertThat(resp.results().get(0).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        assertThat(resp.results().get(0).errorMessage()).isEqualTo("Duplicate topic name.");
        assertThat(resp.results().get(1).errorCode()).isEqualTo(Errors.NONE.code());
    }

    @Test
    void validateOnlyChangesNothing() {
        fx.topic("v", 1, Map.of());

        CreatePartitionsResponseData resp = grow(true, to("v", 4));

        assertThat(result(resp, "v").errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.topic("v").partitions()).isEqualTo(1);
    }

    @Test
    void assignmentsMustCoverEachNewPartitionWithThisBrokerOnly() {
        fx.topic("a", 1, Map.of());
        CreatePartitionsTopic tooFew = to("a", 3).setAssignments(
                List.of(new CreatePartitionsAssignment().setBrokerIds(List.of(1))));
        CreatePartitionsResponseData few = grow(true, tooFew);
        CreatePartitionsTopic elsewhere = to("a", 2).setAssignments(
                List.of(new CreatePartitionsAssignment().setBrokerIds(List.of(7))));
        CreatePartitionsResponseData other = grow(true, elsewhere);

        assertThat(result(few, "a").errorCode()).isEqualTo(Errors.INVALID_REPLICA_ASSIGNMENT.code());
        assertThat(result(few, "a").errorMessage())
                .isEqualTo("Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.");
        assertThat(result(other, "a").errorMessage())
                .isEqualTo("The manual partition assignment includes broker 7, but no such broker is registered.");
    }

    @Test
    void growsTheTopicAndOpensTheNewPartitions() {
        TopicInfo t = fx.topic("g", 1, Map.of());
        await(fx.partitions.open(new org.apache.kafka.common.TopicPartition("g", 0), t.id(), Map.of()));

        CreatePartitionsResponseData resp = grow(false, to("g", 3).setAssignments(List.of(
                new CreatePartitionsAssignment().setBrokerIds(List.of(1)),
                new CreatePartitionsAssignment().setBrokerIds(List.of(1)))));

        assertThat(result(resp, "g").errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(fx.topics.topic("g").partitions()).isEqualTo(3);
        assertThat(fx.partitions.get(new org.apache.kafka.common.TopicPartition("g", 2))).isNotNull();
    }
}
