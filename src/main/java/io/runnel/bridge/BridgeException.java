package io.runnel.bridge;

import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.protocol.Errors;

import io.vertx.core.eventbus.ReplyException;

/**
 * How the bridge names a failure: the event-bus failure code is Kafka's error code and the message
 * starts with the error's name ({@code RECORD_TOO_LARGE: The record batch size ...}).
 */
public final class BridgeException {

    private BridgeException() {
    }

    /** The error for a throwable, as Kafka maps exceptions to wire error codes. */
    public static Errors errorOf(Throwable t) {
        if (t instanceof ReplyException re && re.failureCode() > 0 && Errors.forCode((short) re.failureCode()) != Errors.UNKNOWN_SERVER_ERROR) {
            return Errors.forCode((short) re.failureCode());
        }
        return Errors.forException(t);
    }

    public static String message(Errors error, Throwable t) {
        String detail = t == null || t.getMessage() == null ? error.message() : t.getMessage();
        return error.name() + ": " + detail;
    }

    /** An INVALID_REQUEST failure for a malformed request. */
    public static ApiException invalid(String reason) {
        return new org.apache.kafka.common.errors.InvalidRequestException(reason);
    }
}
