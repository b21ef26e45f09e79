package io.runnel.api;

import io.runnel.cluster.BrokerEndpoint;
import io.runnel.cluster.ClusterView;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.errors.NotCoordinatorException;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * Group coordination on a cluster member, until the coordinator follows the leader of each group's
 * {@code __consumer_offsets} partition: every group is coordinated by the controller, so all members of a
 * group meet on one broker. FindCoordinator names the controller; the other group APIs answer
 * NOT_COORDINATOR on any other broker, which clients answer by finding the coordinator again.
 */
public final class CoordinatorGate<Q extends ApiMessage> implements ApiHandler<Q> {

    private final ApiHandler<Q> delegate;
    private final ClusterView cluster;
    private final int localNode;

    public CoordinatorGate(ApiHandler<Q> delegate, ClusterView cluster, int localNode) {
        this.delegate = delegate;
        this.cluster = cluster;
        this.localNode = localNode;
    }

    @Override
    public ApiKeys apiKey() {
        return delegate.apiKey();
    }

    @Override
    public short minVersion() {
        return delegate.minVersion();
    }

    @Override
    public short maxVersion() {
        return delegate.maxVersion();
    }

    @Override
    public Future<? extends ApiMessage> handle(RequestContext ctx, Q request) {
        int coordinator = cluster.controllerId();
        if (apiKey() == ApiKeys.FIND_COORDINATOR) {
            return delegate.handle(ctx, request).map(r -> redirect((FindCoordinatorResponseData) r, coordinator));
        }
        if (coordinator != localNode) {
            return Future.failedFuture(new NotCoordinatorException("This broker is not the coordinator; broker "
                    + coordinator + " is"));
        }
        return delegate.handle(ctx, request);
    }

    private FindCoordinatorResponseData redirect(FindCoordinatorResponseData r, int coordinator) {
        BrokerEndpoint ep = coordinator < 0 ? null : cluster.endpoint(coordinator);
        if (r.errorCode() == Errors.NONE.code() && r.coordinators().isEmpty()) {
            if (ep == null) {
                r.setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code()).setNodeId(-1).setHost("").setPort(-1);
            } else {
                r.setNodeId(ep.nodeId()).setHost(ep.host()).setPort(ep.port());
            }
        }
        for (FindCoordinatorResponseData.Coordinator c : r.coordinators()) {
            if (c.errorCode() != Errors.NONE.code()) {
                continue;
            }
            if (ep == null) {
                c.setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code()).setNodeId(-1).setHost("").setPort(-1);
            } else {
                c.setNodeId(ep.nodeId()).setHost(ep.host()).setPort(ep.port());
            }
        }
        return r;
    }
}
