package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeClusterResponseData;
import org.apache.kafka.common.message.DescribeClusterResponseData.DescribeClusterBroker;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class DescribeClusterHandlerTest {

    @TempDir
    Path dir;
    AdminFixture fx;
    DescribeClusterHandler handler;

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir, Map.of("cluster.id", "test-cluster"));
        handler = new DescribeClusterHandler(fx.config);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private DescribeClusterResponseData describe(int version, DescribeClusterRequestData req) {
        return await(handler.handle(fx.ctx(ApiKeys.DESCRIBE_CLUSTER, version), req));
    }

    @Test
    void answersThisNodeAsTheOnlyBrokerAndTheController() {
        DescribeClusterResponseData resp = describe(2, new DescribeClusterRequestData());

        assertThat(resp.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(resp.clusterId()).isEqualTo("test-cluster");
        assertThat(resp.controllerId()).isEqualTo(AdminFixture.NODE_ID);
        assertThat(resp.endpointType()).isEqualTo((byte) 1);
        assertThat(resp.clusterAuthorizedOperations()).isEqualTo(Integer.MIN_VALUE);
        assertThat(resp.brokers()).hasSize(1);
        DescribeClusterBroker b = resp.brokers().iterator().next();
        assertThat(b.brokerId()).isEqualTo(AdminFixture.NODE_ID);
        assertThat(b.host()).isEqualTo("127.0.0.1");
        assertThat(b.port()).isEqualTo(9092);
        assertThat(b.isFenced()).isFalse();
        for (short v = 0; v <= ApiKeys.DESCRIBE_CLUSTER.latestVersion(); v++) {
            assertThat(MessageUtil.toByteBufferAccessor(resp, v).buffer().remaining()).isPositive();
        }
    }

    @Test
    void reportsEveryClusterOperationWhenAsked() {
        DescribeClusterResponseData resp = describe(1,
                new DescribeClusterRequestData().setIncludeClusterAuthorizedOperations(true));

        assertThat(Utils.from32BitField(resp.clusterAuthorizedOperations())).contains(AclOperation.DESCRIBE.code(),
                AclOperation.ALTER.code(), AclOperation.CREATE.code(), AclOperation.IDEMPOTENT_WRITE.code());
    }

    @Test
    void controllerEndpointsAreMismatchedAndUnknownTypesUnsupported() {
        DescribeClusterResponseData controllers = describe(1, new DescribeClusterRequestData().setEndpointType((byte) 2));
        DescribeClusterResponseData unknown = describe(1, new DescribeClusterRequestData().setEndpointType((byte) 9));

        assertThat(controllers.errorCode()).isEqualTo(Errors.MISMATCHED_ENDPOINT_TYPE.code());
        assertThat(controllers.errorMessage())
                .isEqualTo("The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER");
        assertThat(unknown.errorCode()).isEqualTo(Errors.UNSUPPORTED_ENDPOINT_TYPE.code());
        assertThat(unknown.errorMessage()).isEqualTo("Unsupported endpoint type 9");
    }

    /** A cluster whose metadata log holds the unfenced brokers {@code live}. */
    private static io.runnel.cluster.ClusterView cluster(int... live) {
        return new io.runnel.cluster.ClusterView() {
            @Override
            public int controllerId() {
                return 2;
            }

            @Override
            public io.runnel.cluster.PartitionState state(org.apache.kafka.common.TopicPartition tp) {
                return null;
            }

            @Override
            public io.runnel.cluster.BrokerEndpoint endpoint(int nodeId) {
                return new io.runnel.cluster.BrokerEndpoint(nodeId, "127.0.0." + nodeId, 9092);
            }

            @Override
            public java.util.Collection<io.runnel.cluster.BrokerEndpoint> liveBrokers() {
                return java.util.Arrays.stream(live).mapToObj(this::endpoint).toList();
            }
        };
    }

    @Test
    void inAClusterListsThisNodeOnlyOnceTheMetadataLogHasItUnfenced() {
        int self = AdminFixture.NODE_ID;
        int[] others = java.util.stream.IntStream.rangeClosed(self + 1, self + 2).toArray();
        DescribeClusterResponseData before = await(new DescribeClusterHandler(fx.config, cluster(others))
                .handle(fx.ctx(ApiKeys.DESCRIBE_CLUSTER, 2), new DescribeClusterRequestData()));
        assertThat(before.brokers()).extracting(DescribeClusterBroker::brokerId)
                .as("not yet registered and unfenced: the brokers the controller would place replicas on")
                .containsExactly(others[0], others[1]);

        DescribeClusterResponseData after = await(new DescribeClusterHandler(fx.config,
                cluster(self, others[0], others[1])).handle(fx.ctx(ApiKeys.DESCRIBE_CLUSTER, 2),
                new DescribeClusterRequestData()));
        assertThat(after.brokers()).extracting(DescribeClusterBroker::brokerId)
                .containsExactly(self, others[0], others[1]);
        DescribeClusterBroker me = after.brokers().iterator().next();
        assertThat(me.host()).as("this node's own listener").isEqualTo("127.0.0.1");
        assertThat(me.port()).isEqualTo(9092);
        assertThat(after.controllerId()).isEqualTo(2);
    }
}
