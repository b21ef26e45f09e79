package io.runnel.cluster;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MultiMapConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.config.TcpIpConfig;
import io.runnel.config.BrokerConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.apache.kafka.common.config.ConfigException;

/**
 * The one place that builds the Hazelcast member and the clustered Vert.x instance, so the event-bus
 * bridge, replication and the controller all join the same way: the interface given by
 * {@code cluster.host} only, multicast and auto-detection off, TCP-IP join over the members listed in
 * {@code cluster.members} one by one, no join wait, no Hazelcast shutdown hook (the node's own hook
 * closes Vert.x, which leaves the cluster cleanly), and the event bus bound to the same host on a
 * random port.
 *
 * <p>Only clustered start-up loads this class, so a standalone node never loads Hazelcast.
 *
 * <p>Threading: {@link #startClustered} may block its caller briefly while Hazelcast resolves; the
 * join itself runs on Vert.x's worker pool. Membership callbacks registered through
 * {@link #onMemberRemoved} run on the given Vert.x context, never on a Hazelcast thread.
 */
public final class ClusterManagerFactory {

    /**
     * @param name      cluster name; only members with the same name form a cluster
     * @param host      interface (IP or host name) the member and the event bus bind to
     * @param port      first member port
     * @param portCount ports from {@code port} the member may take (1 = exactly {@code port})
     * @param members   host:port of members to join
     */
    public record Settings(String name, String host, int port, int portCount, List<String> members,
                           Integer brokerNodeId, String incarnation, int sessionTimeoutMs) {

        /** A Vert.x application's membership: it joins the cluster but is not a broker. */
        public Settings(String name, String host, int port, int portCount, List<String> members) {
            this(name, host, port, portCount, members, null, null, 9000);
        }

        /**
         * A broker's membership: its node id and the incarnation of this process are member attributes, which
         * the controller reads to fence brokers that leave.
         */
        public static Settings from(BrokerConfig config, String incarnation) {
            return new Settings(config.getString(BrokerConfig.CLUSTER_NAME), config.getString(BrokerConfig.CLUSTER_HOST),
                    config.getInt(BrokerConfig.CLUSTER_PORT), config.getInt(BrokerConfig.CLUSTER_PORT_COUNT),
                    config.clusterMembers(), config.nodeId(), incarnation,
                    config.getInt(BrokerConfig.BROKER_SESSION_TIMEOUT_MS));
        }
    }

    /** How often a member that finds itself split off looks for the bigger cluster to merge into. */
    static final int MERGE_DELAY_SECONDS = 5;

    /** How long a joining member looks for a master (and waits for a connection) before it claims the role. */
    static final int JOIN_TIMEOUT_SECONDS = 1;

    /** The event bus's subscriptions and the Vert.x nodes' information (vertx-hazelcast's names). */
    private static final String VERTX_SUBSCRIPTIONS = "__vertx.subs";
    private static final String VERTX_HA_INFO = "__vertx.haInfo";
    private static final String VERTX_NODE_INFO = "__vertx.nodeInfo";

    /** The member attribute in which vertx-hazelcast stores the Vert.x node id. */
    private static final String VERTX_NODE_ID_ATTRIBUTE = "__vertx.nodeId";

    private ClusterManagerFactory() {
    }

    /** The Hazelcast configuration for {@code settings}; fails with a ConfigException naming a bad member. */
    public static Config hazelcastConfig(Settings settings) {
        String ip = resolve(BrokerConfig.CLUSTER_HOST, settings.host());
        // the maps and multimap the Vert.x event bus needs, as vertx-hazelcast's default-cluster.xml declares
        // them, built in code: parsing and validating that XML was about a tenth of a clustered node's start
        Config config = new Config();
        config.addMultiMapConfig(new MultiMapConfig(VERTX_SUBSCRIPTIONS).setBackupCount(1)
                .setValueCollectionType(MultiMapConfig.ValueCollectionType.SET));
        config.addMapConfig(new MapConfig(VERTX_HA_INFO).setBackupCount(1));
        config.addMapConfig(new MapConfig(VERTX_NODE_INFO).setBackupCount(1));
        config.setClusterName(settings.name());
        config.setProperty("hazelcast.wait.seconds.before.join", "0");
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.shutdownhook.enabled", "false");
        config.setProperty("hazelcast.socket.bind.any", "false");
        config.setProperty("hazelcast.logging.type", "slf4j");
        NetworkConfig network = config.getNetworkConfig();
        // a restarted node takes its port back at once, as Kafka's listener does
        network.setReuseAddress(true);
        network.setPort(settings.port()).setPortAutoIncrement(settings.portCount() > 1)
                .setPortCount(settings.portCount());
        network.getInterfaces().setEnabled(true).clear().addInterface(ip);
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getAwsConfig().setEnabled(false);
        join.getKubernetesConfig().setEnabled(false);
        // Hazelcast asks the listed members for a master for this long before one of them claims the role, and
        // waits this long for a connection: its default of 5 s is the whole join of a cluster started at once
        TcpIpConfig tcp = join.getTcpIpConfig().setEnabled(true).setConnectionTimeoutSeconds(JOIN_TIMEOUT_SECONDS);
        tcp.clear();
        for (String member : settings.members()) {
            tcp.addMember(checkMember(member));
        }
        // failure detection: a member silent for the session timeout is removed (kill -9 is seen at once
        // through the refused connection; this bounds a hung or partitioned member)
        config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
        config.setProperty("hazelcast.max.no.heartbeat.seconds",
                Integer.toString(Math.max(2, (settings.sessionTimeoutMs() + 999) / 1000)));
        // a member paused for longer than that (a long GC, SIGSTOP) is removed, and on waking up forms a
        // cluster of its own; look for the bigger cluster and merge back into it within seconds instead of
        // Hazelcast's default five minutes, so a paused broker rejoins the ISRs by itself
        config.setProperty("hazelcast.merge.first.run.delay.seconds", Integer.toString(MERGE_DELAY_SECONDS));
        config.setProperty("hazelcast.merge.next.run.delay.seconds", Integer.toString(MERGE_DELAY_SECONDS));
        if (settings.brokerNodeId() != null) {
            config.getMemberAttributeConfig().setAttribute(HazelcastMembership.NODE_ID_ATTRIBUTE,
                    Integer.toString(settings.brokerNodeId()));
            config.getMemberAttributeConfig().setAttribute(HazelcastMembership.INCARNATION_ATTRIBUTE,
                    settings.incarnation());
        }
        return config;
    }

    public static HazelcastClusterManager clusterManager(Settings settings) {
        return new HazelcastClusterManager(hazelcastConfig(settings));
    }

    /** Starts a clustered Vert.x that joins the cluster described by {@code settings}. */
    public static Future<Vertx> startClustered(VertxOptions options, Settings settings) {
        return startClustered(options, null, settings);
    }

    /** As {@link #startClustered(VertxOptions, Settings)}, with a metrics factory (null for none). */
    public static Future<Vertx> startClustered(VertxOptions options, io.vertx.core.spi.VertxMetricsFactory metrics,
                                               Settings settings) {
        HazelcastClusterManager manager;
        try {
            manager = clusterManager(settings);
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        EventBusOptions eventBus = options.getEventBusOptions();
        // port 0: several nodes share a host, each event bus takes its own free port
        eventBus.setHost(settings.host()).setPort(0);
        io.vertx.core.VertxBuilder builder = Vertx.builder().with(options).withClusterManager(manager);
        if (metrics != null) {
            builder.withMetrics(metrics);
        }
        return builder.buildClustered();
    }

    /** The Vert.x node id of a clustered instance, or null when standalone. */
    public static String nodeId(Vertx vertx) {
        if (vertx instanceof VertxInternal internal && internal.isClustered()) {
            return internal.clusterManager().getNodeId();
        }
        return null;
    }

    /**
     * Calls {@code listener} with the node id of every member that leaves the cluster, on {@code context}.
     * Does nothing on a standalone instance. Returns a handle that removes the listener.
     */
    public static Runnable onMemberRemoved(Vertx vertx, Context context, Consumer<String> listener) {
        if (!(vertx instanceof VertxInternal internal) || !internal.isClustered()
                || !(internal.clusterManager() instanceof HazelcastClusterManager hz)) {
            return () -> {
            };
        }
        UUID registration = hz.getHazelcastInstance().getCluster().addMembershipListener(new MembershipListener() {
            @Override
            public void memberAdded(MembershipEvent event) {
            }

            @Override
            public void memberRemoved(MembershipEvent event) {
                // a Hazelcast event thread: hand over at once, never do the work here
                // vertx-hazelcast names its nodes by a member attribute, not by the member UUID
                String nodeId = event.getMember().getAttribute(VERTX_NODE_ID_ATTRIBUTE);
                if (nodeId == null) {
                    nodeId = event.getMember().getUuid().toString();
                }
                String left = nodeId;
                context.runOnContext(v -> listener.accept(left));
            }
        });
        return () -> {
            if (hz.getHazelcastInstance().getLifecycleService().isRunning()) {
                hz.getHazelcastInstance().getCluster().removeMembershipListener(registration);
            }
        };
    }

    private static String checkMember(String member) {
        int colon = member.lastIndexOf(':');
        if (colon <= 0 || colon == member.length() - 1) {
            throw new ConfigException(BrokerConfig.CLUSTER_MEMBERS, member, "each member must be host:port");
        }
        String port = member.substring(colon + 1);
        try {
            int p = Integer.parseInt(port);
            if (p < 1 || p > 65535) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw new ConfigException(BrokerConfig.CLUSTER_MEMBERS, member,
                    "port must be one number from 1 to 65535 (list members one by one, no ranges)");
        }
        return member;
    }

    private static String resolve(String key, String host) {
        try {
            return InetAddress.getByName(host).getHostAddress();
        } catch (UnknownHostException e) {
            throw new ConfigException(key, host, "unknown host");
        }
    }
}
