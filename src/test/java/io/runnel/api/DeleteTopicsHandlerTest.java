package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static io.runnel.api.AdminFixture.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.runnel.cluster.TopicInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.TopicDeletionDisabledException;
import org.apache.kafka.common.message.DeleteTopicsRequestData;
import org.apache.kafka.common.message.DeleteTopicsRequestData.DeleteTopicState;
import org.apache.kafka.common.message.DeleteTopicsResponseData;
import org.apache.kafka.common.message.DeleteTopicsResponseData.DeletableTopicResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.MessageUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class DeleteTopicsHandlerTest {

    @TempDir
    Path dir;
    AdminFixture fx;

    @AfterEach
    void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    private DeleteTopicsHandler handler(Map<String, String> props) {
        fx = new AdminFixture(dir, props);
        return new DeleteTopicsHandler(fx.config, fx.topics);
    }

    private static DeletableTopicResult only(DeleteTopicsResponseData resp) {
        assertThat(resp.responses()).hasSize(1);
        return resp.responses().iterator().next();
    }

    @Test
    void deletesByNameBeforeV6() {
        DeleteTopicsHandler h = handler(Map.of());
        fx.topic("gone", 2, Map.of());

        DeleteTopicsResponseData resp = await(h.handle(fx.ctx(ApiKeys.DELETE_TOPICS, 5),
                new DeleteTopicsRequestData().setTopicNames(List.of("gone", "never"))));

        assertThat(resp.responses().find("gone").errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(resp.responses().find("gone").errorMessage()).isNull();
        DeletableTopicResult unknown = resp.responses().find("never");
        assertThat(unknown.errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        assertThat(fx.topics.topic("gone")).isNull();
        assertThat(MessageUtil.toByteBufferAccessor(resp, (short) 1).buffer().remaining()).isPositive();
    }

    @Test
    void deletesByIdAtV6AndAnswersTheName() {
        DeleteTopicsHandler h = handler(Map.of());
        TopicInfo t = fx.topic("byid", 1, Map.of());
        Uuid unknown = Uuid.randomUuid();
        DeleteTopicsRequestData req = new DeleteTopicsRequestData();
        req.topics().add(new DeleteTopicState().setTopicId(t.id()));
        req.topics().add(new DeleteTopicState().setTopicId(unknown));

        DeleteTopicsResponseData resp = await(h.handle(fx.ctx(ApiKeys.DELETE_TOPICS, 6), req));

        DeletableTopicResult deleted = resp.responses().find("byid");
        assertThat(deleted.topicId()).isEqualTo(t.id());
        assertThat(deleted.errorCode()).isEqualTo(Errors.NONE.code());
        DeletableTopicResult missing = resp.responses().stream().filter(r -> r.topicId().equals(unknown))
                .findFirst().orElseThrow();
        assertThat(missing.name()).isNull();
        assertThat(missing.errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_ID.code());
        assertThat(fx.topics.topic(t.id())).isNull();
        assertThat(MessageUtil.toByteBufferAccessor(resp, (short) 6).buffer().remaining()).isPositive();
    }

    @Test
    void malformedEntriesAreInvalidRequestsAndDeleteNothing() {
        DeleteTopicsHandler h = handler(Map.of());
        TopicInfo kept = fx.topic("kept", 1, Map.of());
        TopicInfo other = fx.topic("other", 1, Map.of());
        DeleteTopicsRequestData req = new DeleteTopicsRequestData();
        req.topics().add(new DeleteTopicState().setName("kept"));
        req.topics().add(new DeleteTopicState().setName("kept"));
        req.topics().add(new DeleteTopicState().setName("other").setTopicId(other.id()));
        req.topics().add(new DeleteTopicState());

        DeleteTopicsResponseData resp = await(h.handle(fx.ctx(ApiKeys.DELETE_TOPICS, 6), req));

        assertThat(resp.responses()).extracting(DeletableTopicResult::errorMessage).containsExactlyInAnyOrder(
                "Duplicate topic name.", "You may not specify both topic name and topic id.",
                "Neither topic name nor id were specified.");
        assertThat(resp.responses()).allSatisfy(r -> assertThat(r.errorCode()).isEqualTo(Errors.INVALID_REQUEST.code()));
        assertThat(fx.topics.topic(kept.id())).isNotNull();
        assertThat(fx.topics.topic(other.id())).isNotNull();
    }

    @Test
    void aNameAndItsIdInOneRequestAreOneTopicTwice() {
        DeleteTopicsHandler h = handler(Map.of());
        TopicInfo t = fx.topic("both", 1, Map.of());
        DeleteTopicsRequestData req = new DeleteTopicsRequestData();
        req.topics().add(new DeleteTopicState().setTopicId(t.id()));
        req.topics().add(new DeleteTopicState().setName("both"));

        DeletableTopicResult r = only(await(h.handle(fx.ctx(ApiKeys.DELETE_TOPICS, 6), req)));

        assertThat(r.errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        assertThat(r.errorMessage()).isEqualTo("The provided topic name maps to an ID that was already supplied.");
        assertThat(fx.topics.topic("both")).isNotNull();
    }

    @Test
    void deletionDisabledFailsTheWholeRequest() {
        DeleteTopicsHandler h = handler(Map.of("delete.topic.enable", "false"));
        fx.topic("stays", 1, Map.of());
        DeleteTopicsRequestData req = new DeleteTopicsRequestData().setTopicNames(List.of("stays"));

        assertThat(awaitFailure(h.handle(fx.ctx(ApiKeys.DELETE_TOPICS, 5), req)))
                .isInstanceOf(TopicDeletionDisabledException.class);
        assertThat(awaitFailure(h.handle(fx.ctx(ApiKeys.DELETE_TOPICS, 2), req)))
                .isInstanceOf(InvalidRequestException.class).hasMessage("Topic deletion is disabled.");
        assertThat(fx.topics.topic("stays")).isNotNull();
    }
}
