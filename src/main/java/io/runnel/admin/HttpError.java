package io.runnel.admin;

import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicDeletionDisabledException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.protocol.Errors;

/**
 * An admin API failure with its HTTP status. Rendered by {@link #toJson()} as the one error shape every
 * route answers: {@code {"status": 400, "error": "invalid_field", "message": "...", "field": "partitions"}}
 * ({@code field} only when one input is to blame). {@code error} values are stable identifiers; messages
 * are for people.
 */
final class HttpError extends RuntimeException {

    private final int status;
    private final String error;
    private final String field;

    HttpError(int status, String error, String message, String field) {
        super(message, null, false, false);
        this.status = status;
        this.error = error;
        this.field = field;
    }

    static HttpError badField(String field, String message) {
        return new HttpError(400, "invalid_field", message, field);
    }

    static HttpError notFound(String error, String message) {
        return new HttpError(404, error, message, null);
    }

    static HttpError conflict(String error, String message) {
        return new HttpError(409, error, message, null);
    }

    int status() {
        return status;
    }

    String error() {
        return error;
    }

    String field() {
        return field;
    }

    JsonObject toJson() {
        JsonObject json = new JsonObject().put("status", status).put("error", error).put("message", getMessage());
        if (field != null) {
            json.put("field", field);
        }
        return json;
    }

    /**
     * Maps a failure from the broker (kafka-clients ApiExceptions, as the Kafka API would answer them)
     * to its HTTP form. {@code null} means an unexpected failure: the caller answers 500 and logs it.
     */
    static HttpError from(Throwable t) {
        if (t instanceof HttpError h) {
            return h;
        }
        if (t instanceof UnknownTopicOrPartitionException) {
            return notFound("unknown_topic_or_partition", t.getMessage());
        }
        if (t instanceof GroupIdNotFoundException) {
            return notFound("unknown_group", t.getMessage());
        }
        if (t instanceof TopicExistsException) {
            return conflict("topic_exists", t.getMessage());
        }
        if (t instanceof GroupNotEmptyException) {
            return conflict("group_not_empty", t.getMessage());
        }
        if (t instanceof TopicDeletionDisabledException) {
            return new HttpError(403, "topic_deletion_disabled", t.getMessage(), null);
        }
        if (t instanceof InvalidTopicException) {
            return badField("name", t.getMessage());
        }
        if (t instanceof InvalidPartitionsException) {
            return badField("partitions", t.getMessage());
        }
        if (t instanceof InvalidReplicationFactorException) {
            return badField("replicationFactor", t.getMessage());
        }
        if (t instanceof InvalidConfigurationException || t instanceof PolicyViolationException
                || t instanceof org.apache.kafka.common.config.ConfigException) {
            return badField("configs", t.getMessage());
        }
        if (t instanceof org.apache.kafka.common.errors.RecordTooLargeException
                || t instanceof org.apache.kafka.common.errors.RecordBatchTooLargeException
                || t instanceof org.apache.kafka.common.errors.CorruptRecordException
                || t instanceof org.apache.kafka.common.InvalidRecordException) {
            return badField("records", t.getMessage());
        }
        if (t instanceof InvalidRequestException) {
            return new HttpError(400, "invalid_request", t.getMessage(), null);
        }
        if (t instanceof RetriableException) {
            return new HttpError(503, Errors.forException(t).name().toLowerCase(java.util.Locale.ROOT), t.getMessage(),
                    null);
        }
        if (t instanceof ApiException) {
            return new HttpError(500, Errors.forException(t).name().toLowerCase(java.util.Locale.ROOT), t.getMessage(),
                    null);
        }
        return null;
    }
}
