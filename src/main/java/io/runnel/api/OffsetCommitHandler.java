package io.runnel.api;

import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

/**
 * OffsetCommit, answered once the offsets are in {@code __consumer_offsets}. Served up to v9: v10 names
 * topics by id, which needs the metadata image to resolve.
 */
public final class OffsetCommitHandler implements ApiHandler<OffsetCommitRequestData> {

    private final GroupCoordinator coordinator;

    public OffsetCommitHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.OFFSET_COMMIT;
    }

    @Override
    public short maxVersion() {
        return 9;
    }

    @Override
    public Future<OffsetCommitResponseData> handle(RequestContext ctx, OffsetCommitRequestData request) {
        return coordinator.commitOffsets(request, ctx.apiVersion());
    }
}
