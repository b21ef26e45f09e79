package io.runnel.replication;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.runnel.cluster.BrokerDirectory;
import io.runnel.cluster.BrokerEndpoint;
import io.runnel.cluster.HostResolver;
import io.runnel.config.BrokerConfig;
import io.runnel.partition.PartitionOwner;
import io.runnel.partition.Replication;
import io.runnel.security.InterBrokerSecurity;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The follower side of replication on one broker: one {@link ReplicaFetcher} (one connection) per
 * leader broker that this node follows partitions from, created when the first partition needs it and
 * stopped when its last partition leaves. Partition owners register through
 * {@link Replication.FollowerRegistry} when they become followers and leave when they lead or close.
 *
 * <p>Threading: {@link #follow} and {@link #unfollow} are called from any thread (owners' contexts) and
 * hop, in call order, onto this manager's own event-loop context, where all fetchers run.
 */
public final class ReplicaFetcherManager implements Replication.FollowerRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicaFetcherManager.class);

    private final Vertx vertx;
    private final Context context;
    // the default client, and one bound to each family's address of this broker's registered host
    private final NetClient client;
    private final Map<Class<? extends InetAddress>, NetClient> bound = new HashMap<>();
    private final HostResolver hosts;
    private final BrokerDirectory directory;
    private final FetcherSettings settings;
    private final int localNode;
    private final InterBrokerSecurity security;
    private final Map<Integer, ReplicaFetcher> byLeader = new HashMap<>();
    private final Map<TopicPartition, ReplicaFetcher> byPartition = new HashMap<>();

    private ReplicaFetcherManager(Vertx vertx, Context context, BrokerConfig config, BrokerDirectory directory,
                                  HostResolver hosts, List<InetAddress> ownAddresses, InterBrokerSecurity security) {
        this.vertx = vertx;
        this.security = security;
        this.context = context;
        this.directory = directory;
        this.hosts = hosts;
        this.settings = FetcherSettings.from(config);
        this.localNode = config.nodeId();
        this.client = vertx.createNetClient(security.applyTo(options()));
        for (InetAddress a : ownAddresses) {
            bound.computeIfAbsent(a.getClass(), c -> vertx.createNetClient(security.applyTo(options())
                    .setLocalAddress(a.getHostAddress())));
        }
        if (!ownAddresses.isEmpty()) {
            LOG.info("Replica fetchers of node {} connect from {}", localNode, ownAddresses);
        }
    }

    private static NetClientOptions options() {
        return new NetClientOptions().setTcpNoDelay(true).setConnectTimeout(10_000);
    }

    /**
     * Deploys the manager's event-loop context; completes with the manager. {@code hosts} resolves the
     * leaders' registered hosts and this broker's own.
     */
    public static Future<ReplicaFetcherManager> start(Vertx vertx, BrokerConfig config, BrokerDirectory directory,
                                                      HostResolver hosts, InterBrokerSecurity security) {
        Holder holder = new Holder();
        String ownHost = config.advertisedFor(config.listeners().get(0)).host();
        return vertx.deployVerticle(holder)
                .compose(id -> vertx.executeBlocking(() -> localAddressesOf(ownHost), false))
                .map(own -> new ReplicaFetcherManager(vertx, holder.own(), config, directory, hosts, own, security));
    }

    /**
     * The addresses of this broker's registered host that belong to this machine, to bind the fetch
     * connections to: a leader takes a replica fetch only from an address of the follower's registered
     * host (ReplicaFetchGuard), and without binding the kernel picks the source, which for a leader on
     * another local address (127.0.0.k aliases, several interfaces) is not the follower's. None for a
     * wildcard host or one that is not local (then the kernel's choice stands). Blocking (name lookup).
     */
    static List<InetAddress> localAddressesOf(String host) {
        List<InetAddress> out = new ArrayList<>();
        if (host == null || host.isEmpty() || host.equals("0.0.0.0") || host.equals("::")) {
            return out;
        }
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) {
                if (!a.isAnyLocalAddress() && (a.isLoopbackAddress() || NetworkInterface.getByInetAddress(a) != null)) {
                    out.add(a);
                }
            }
        } catch (IOException e) {
            LOG.warn("Cannot resolve this broker's advertised host {}: replica fetchers connect from any address ({})",
                    host, e.toString());
        }
        return out;
    }

    /**
     * Connects to {@code leader}: to an address of its host of a family this broker has a bound client for,
     * from that address; else by name from wherever the kernel picks. Completes on the manager's context. The
     * transaction coordinator's inter-broker requests connect the same way (with the same TLS and SASL login).
     */
    public Future<NetSocket> connect(BrokerEndpoint leader) {
        Future<NetSocket> socket;
        if (bound.isEmpty()) {
            socket = client.connect(leader.port(), leader.host());
        } else {
            socket = hosts.resolve(leader.host()).compose(addresses -> {
                for (InetAddress a : addresses) {
                    NetClient c = bound.get(a.getClass());
                    if (c != null) {
                        // the certificate is checked against the registered name, not the address it resolved to;
                        // ConnectOptions do not inherit the client's ssl flag (only its TLS options)
                        return c.connect(new ConnectOptions().setRemoteAddress(
                                SocketAddress.inetSocketAddress(leader.port(), a.getHostAddress()))
                                .setHost(leader.host()).setPort(leader.port()).setSsl(security.usesTls()));
                    }
                }
                return client.connect(leader.port(), leader.host());
            });
        }
        return socket.compose(s -> login(s, leader));
    }

    /** Logs in to the leader with SASL, if the inter-broker listener asks for it; closes the socket on failure. */
    private Future<NetSocket> login(NetSocket socket, BrokerEndpoint leader) {
        javax.security.sasl.SaslClient sasl;
        try {
            sasl = security.newSaslClient(leader.host());
        } catch (javax.security.sasl.SaslException e) {
            socket.close();
            return Future.failedFuture(e);
        }
        if (sasl == null) {
            return Future.succeededFuture(socket);
        }
        return BrokerLogin.run(vertx, socket, sasl, "runnel-replica-" + localNode, settings.requestTimeoutMs());
    }

    private static final class Holder extends AbstractVerticle {
        Context own() {
            return context;
        }
    }

    @Override
    public void follow(PartitionOwner owner, int leader) {
        context.runOnContext(v -> {
            TopicPartition tp = owner.topicPartition();
            ReplicaFetcher current = byPartition.get(tp);
            if (current != null && current.leaderId() != leader) {
                current.remove(owner);
                stopIfIdle(current);
            }
            ReplicaFetcher f = byLeader.computeIfAbsent(leader,
                    id -> new ReplicaFetcher(vertx, context, this::connect, directory, settings, localNode, id));
            byPartition.put(tp, f);
            f.add(owner);
        });
    }

    @Override
    public void unfollow(PartitionOwner owner) {
        context.runOnContext(v -> {
            ReplicaFetcher f = byPartition.get(owner.topicPartition());
            if (f != null) {
                if (f.remove(owner)) {
                    byPartition.remove(owner.topicPartition());
                }
                stopIfIdle(f);
            }
        });
    }

    private void stopIfIdle(ReplicaFetcher f) {
        if (f.isEmpty()) {
            f.stop();
            byLeader.remove(f.leaderId(), f);
        }
    }
}
