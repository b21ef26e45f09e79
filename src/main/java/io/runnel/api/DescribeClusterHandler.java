package io.runnel.api;

import java.util.Set;

import io.runnel.config.BrokerConfig;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.clients.admin.EndpointType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeClusterResponseData;
import org.apache.kafka.common.message.DescribeClusterResponseData.DescribeClusterBroker;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Utils;

/**
 * DescribeCluster as a Kafka broker answers it: the cluster id, this node as the only broker (as clients
 * reach it on the listener the request came in on) and as the controller. Every listener is a broker
 * endpoint: a request for controllers gets MISMATCHED_ENDPOINT_TYPE, an endpoint type Kafka does not
 * know UNSUPPORTED_ENDPOINT_TYPE (both INVALID_REQUEST at v0). Without an authorizer every operation Kafka
 * defines on the cluster resource is allowed, which is what include_cluster_authorized_operations
 * reports. There are no fenced brokers to include.
 */
public final class DescribeClusterHandler implements ApiHandler<DescribeClusterRequestData> {

    /** Kafka's AclEntry.supportedOperations(CLUSTER). */
    private static final Set<AclOperation> CLUSTER_OPERATIONS = Set.of(AclOperation.CREATE,
            AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS,
            AclOperation.IDEMPOTENT_WRITE, AclOperation.ALTER, AclOperation.DESCRIBE);

    private final BrokerConfig config;
    private final io.runnel.cluster.ClusterView cluster;

    public DescribeClusterHandler(BrokerConfig config) {
        this(config, null);
    }

    /** With {@code cluster}, every live broker and the controller as membership knows them. */
    public DescribeClusterHandler(BrokerConfig config, io.runnel.cluster.ClusterView cluster) {
        this.config = config;
        this.cluster = cluster;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_CLUSTER;
    }

    @Override
    public Future<DescribeClusterResponseData> handle(RequestContext ctx, DescribeClusterRequestData request) {
        EndpointType requested = EndpointType.fromId(request.endpointType());
        if (requested == EndpointType.UNKNOWN) {
            return Future.succeededFuture(new DescribeClusterResponseData()
                    .setErrorCode(ctx.apiVersion() == 0 ? Errors.INVALID_REQUEST.code()
                            : Errors.UNSUPPORTED_ENDPOINT_TYPE.code())
                    .setErrorMessage("Unsupported endpoint type " + request.endpointType()));
        }
        if (requested != EndpointType.BROKER) {
            return Future.succeededFuture(new DescribeClusterResponseData()
                    .setErrorCode(ctx.apiVersion() == 0 ? Errors.INVALID_REQUEST.code()
                            : Errors.MISMATCHED_ENDPOINT_TYPE.code())
                    .setErrorMessage("The request was sent to an endpoint of type " + EndpointType.BROKER
                            + ", but we wanted an endpoint of type " + requested));
        }
        Node self = ctx.localNode();
        DescribeClusterResponseData response = new DescribeClusterResponseData()
                .setErrorCode(Errors.NONE.code())
                .setClusterId(config.clusterId())
                .setControllerId(cluster == null ? self.id() : cluster.controllerId())
                .setEndpointType(EndpointType.BROKER.id())
                .setClusterAuthorizedOperations(!request.includeClusterAuthorizedOperations() ? Integer.MIN_VALUE
                        : ctx.authorizer() != null
                        ? AuthorizedOperations.of(ctx, org.apache.kafka.common.resource.ResourceType.CLUSTER,
                                RequestContext.CLUSTER_NAME)
                        : Utils.to32BitField(CLUSTER_OPERATIONS.stream().map(AclOperation::code)
                                .collect(java.util.stream.Collectors.toSet())));
        if (cluster == null) {
            response.brokers().add(new DescribeClusterBroker().setBrokerId(self.id()).setHost(self.host())
                    .setPort(self.port()).setRack(self.rack()).setIsFenced(false));
        } else {
            // the unfenced brokers of the metadata log, this one only once it is among them: a node that answers
            // before the controller has registered and unfenced it must not count itself, or a client that waits
            // for N brokers would place N replicas where the controller sees fewer
            // each on the listener this client came in on, as Kafka answers; brokers without it are left out
            cluster.liveBrokers().stream().map(b -> b.on(ctx.listenerName())).filter(java.util.Objects::nonNull).sorted(
                    java.util.Comparator.comparingInt(io.runnel.cluster.BrokerEndpoint::nodeId)).forEach(b ->
                    response.brokers().add(new DescribeClusterBroker().setBrokerId(b.nodeId())
                            .setHost(b.nodeId() == self.id() ? self.host() : b.host())
                            .setPort(b.nodeId() == self.id() ? self.port() : b.port())
                            .setRack(b.nodeId() == self.id() ? self.rack() : null).setIsFenced(false)));
        }
        return Future.succeededFuture(response);
    }
}
