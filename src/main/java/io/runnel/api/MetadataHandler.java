package io.runnel.api;

import java.util.ArrayList;
import java.util.List;

import io.runnel.cluster.BrokerDirectory;
import io.runnel.cluster.ClusterView;
import io.runnel.cluster.BrokerEndpoint;
import io.runnel.metadata.OffsetsTopic;
import io.runnel.cluster.PartitionState;
import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.MetadataResponseData.MetadataResponseBroker;
import org.apache.kafka.common.message.MetadataResponseData.MetadataResponsePartition;
import org.apache.kafka.common.message.MetadataResponseData.MetadataResponseTopic;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * Metadata from v0 (kafka-python 2.0.2 still sends v0/v1). Unknown topics are created on first use
 * when the request allows it and auto.create.topics.enable is on, as Apache Kafka does.
 */
public final class MetadataHandler implements ApiHandler<MetadataRequestData> {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MetadataHandler.class);

    private final BrokerConfig config;
    private final TopicManager topics;
    private final PartitionManager partitions;
    private final BrokerDirectory brokers;
    private final OffsetsTopic offsetsTopic;

    public MetadataHandler(BrokerConfig config, TopicManager topics, PartitionManager partitions) {
        this(config, topics, partitions, null, null);
    }

    /**
     * With {@code brokers}, every live broker is listed and partitions show their replicated state. With
     * {@code offsetsTopic}, a request that may auto-create topics creates {@code __consumer_offsets} as the
     * internal topic it is, as Kafka does; other internal names are never auto-created.
     */
    public MetadataHandler(BrokerConfig config, TopicManager topics, PartitionManager partitions,
                           BrokerDirectory brokers, OffsetsTopic offsetsTopic) {
        this.config = config;
        this.topics = topics;
        this.partitions = partitions;
        this.brokers = brokers;
        this.offsetsTopic = offsetsTopic;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.METADATA;
    }

    @Override
    public Future<MetadataResponseData> handle(RequestContext ctx, MetadataRequestData request) {
        boolean allTopics = request.topics() == null || (ctx.apiVersion() == 0 && request.topics().isEmpty());
        List<Future<MetadataResponseTopic>> answers = new ArrayList<>();
        if (allTopics) {
            for (TopicInfo t : topics.topics()) {
                // as Kafka: a listing leaves out the topics the client may not DESCRIBE
                if (ctx.authorized(AclOperation.DESCRIBE, ResourceType.TOPIC, t.name())) {
                    answers.add(Future.succeededFuture(describe(t)));
                }
            }
        } else {
            boolean autoCreate = request.allowAutoTopicCreation()
                    && config.getBoolean(BrokerConfig.AUTO_CREATE_TOPICS_ENABLE);
            for (MetadataRequestData.MetadataRequestTopic rt : request.topics()) {
                answers.add(answer(ctx, rt, autoCreate));
            }
        }
        return Future.all(answers).map(all -> {
            MetadataResponseData resp = new MetadataResponseData()
                    .setClusterId(config.clusterId())
                    .setControllerId(brokers instanceof ClusterView view ? view.controllerId() : ctx.localNode().id())
                    .setClusterAuthorizedOperations(Integer.MIN_VALUE);
            resp.brokers().add(new MetadataResponseBroker().setNodeId(ctx.localNode().id())
                    .setHost(ctx.localNode().host()).setPort(ctx.localNode().port()).setRack(ctx.localNode().rack()));
            if (brokers != null) {
                for (BrokerEndpoint live : brokers.liveBrokers()) {
                    // each client gets the endpoints of the listener it came in on; brokers without it are left out
                    BrokerEndpoint b = live.on(ctx.listenerName());
                    if (b != null && b.nodeId() != ctx.localNode().id()) {
                        resp.brokers().add(new MetadataResponseBroker().setNodeId(b.nodeId()).setHost(b.host())
                                .setPort(b.port()));
                    }
                }
            }
            for (Future<MetadataResponseTopic> f : answers) {
                resp.topics().add(f.result());
            }
            if (ctx.authorizer() != null) {
                if (request.includeTopicAuthorizedOperations()) {
                    for (MetadataResponseTopic mt : resp.topics()) {
                        if (mt.errorCode() == Errors.NONE.code()) {
                            mt.setTopicAuthorizedOperations(AuthorizedOperations.of(ctx, ResourceType.TOPIC, mt.name()));
                        }
                    }
                }
                if (request.includeClusterAuthorizedOperations()) {
                    resp.setClusterAuthorizedOperations(AuthorizedOperations.of(ctx, ResourceType.CLUSTER,
                            RequestContext.CLUSTER_NAME));
                }
            }
            return resp;
        });
    }

    private Future<MetadataResponseTopic> answer(RequestContext ctx, MetadataRequestData.MetadataRequestTopic rt,
                                                 boolean autoCreate) {
        if (rt.name() == null) {
            TopicInfo byId = rt.topicId() == null ? null : topics.topic(rt.topicId());
            if (byId == null) {
                return Future.succeededFuture(new MetadataResponseTopic().setTopicId(rt.topicId())
                        .setErrorCode(Errors.UNKNOWN_TOPIC_ID.code()));
            }
            if (!ctx.authorized(AclOperation.DESCRIBE, ResourceType.TOPIC, byId.name())) {
                return Future.succeededFuture(new MetadataResponseTopic().setTopicId(rt.topicId())
                        .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code()));
            }
            return Future.succeededFuture(describe(byId));
        }
        String name = rt.name();
        if (!ctx.authorized(AclOperation.DESCRIBE, ResourceType.TOPIC, name)) {
            // as Kafka: whether the topic exists is not told to a client that may not DESCRIBE it
            return Future.succeededFuture(error(name, Errors.TOPIC_AUTHORIZATION_FAILED));
        }
        // auto-creation needs CREATE on the cluster or the topic; without it an unknown topic is refused
        boolean mayCreate = autoCreate && (ctx.clusterAuthorized(AclOperation.CREATE)
                || ctx.authorized(AclOperation.CREATE, ResourceType.TOPIC, name));
        boolean createRefused = autoCreate && !mayCreate;
        TopicInfo t = topics.topic(name);
        if (t != null) {
            return Future.succeededFuture(describe(t));
        }
        try {
            Topic.validate(name);
        } catch (InvalidTopicException e) {
            return Future.succeededFuture(error(name, Errors.INVALID_TOPIC_EXCEPTION));
        }
        // a topic just created through another broker: catch up with the metadata quorum's leader before
        // answering that it does not exist (or creating it again)
        return topics.catchUp().otherwiseEmpty().compose(v -> {
            TopicInfo known = topics.topic(name);
            if (known == null && createRefused) {
                return Future.succeededFuture(error(name, Errors.TOPIC_AUTHORIZATION_FAILED));
            }
            return known != null ? Future.succeededFuture(describe(known)) : unknown(name, autoCreate);
        });
    }

    private Future<MetadataResponseTopic> unknown(String name, boolean autoCreate) {
        boolean offsets = name.equals(OffsetsTopic.NAME) && offsetsTopic != null;
        if (!autoCreate || (Topic.isInternal(name) && !offsets)) {
            return Future.succeededFuture(error(name, Errors.UNKNOWN_TOPIC_OR_PARTITION));
        }
        return (offsets ? offsetsTopic.ensure() : topics.autoCreate(name)).map(this::describe)
                .otherwise(e -> {
                    Errors error = Errors.forException(e);
                    if (error == Errors.UNKNOWN_SERVER_ERROR) {
                        LOG.error("Auto-creating topic {} failed", name, e);
                    }
                    return error(name, error);
                });
    }

    private static MetadataResponseTopic error(String name, Errors error) {
        return new MetadataResponseTopic().setName(name).setTopicId(Uuid.ZERO_UUID).setErrorCode(error.code());
    }

    private MetadataResponseTopic describe(TopicInfo t) {
        MetadataResponseTopic mt = new MetadataResponseTopic().setName(t.name()).setTopicId(t.id())
                .setIsInternal(Topic.isInternal(t.name())).setTopicAuthorizedOperations(Integer.MIN_VALUE);
        int node = config.nodeId();
        for (int p = 0; p < t.partitions(); p++) {
            TopicPartition tp = new TopicPartition(t.name(), p);
            PartitionOwner owner = partitions.get(tp);
            MetadataResponsePartition mp = new MetadataResponsePartition().setPartitionIndex(p)
                    .setReplicaNodes(List.of(node)).setOfflineReplicas(List.of());
            if (brokers != null) {
                // a cluster member answers from the controller's states, hosted here or not
                PartitionState s = brokers instanceof ClusterView view ? view.state(tp)
                        : owner == null ? null : owner.state();
                // cut off from the metadata quorum past the session timeout, this node has most likely been fenced
                // and its replicated leaderships moved: naming itself would send clients back to it
                boolean staleLeader = s != null && s.leader() == node && s.replicas().size() > 1
                        && partitions.quorumContactLost();
                if (s == null || s.leader() < 0 || staleLeader) {
                    mp.setErrorCode(Errors.LEADER_NOT_AVAILABLE.code()).setLeaderId(-1).setLeaderEpoch(-1)
                            .setIsrNodes(s == null ? List.of() : s.isr());
                } else {
                    mp.setLeaderId(s.leader()).setLeaderEpoch(s.leaderEpoch()).setIsrNodes(s.isr());
                }
                if (s != null) {
                    mp.setReplicaNodes(s.replicas());
                    List<Integer> offline = new ArrayList<>();
                    for (int r : s.replicas()) {
                        // as Kafka's metadata cache: a replica whose broker is gone or whose log directory is offline
                        if (brokers.endpoint(r) == null
                                || brokers instanceof ClusterView view && view.replicaOffline(tp, r)) {
                            offline.add(r);
                        }
                    }
                    mp.setOfflineReplicas(offline);
                }
            } else if (owner == null) {
                mp.setErrorCode(Errors.LEADER_NOT_AVAILABLE.code()).setLeaderId(-1).setLeaderEpoch(-1)
                        .setIsrNodes(List.of());
            } else {
                mp.setLeaderId(node).setLeaderEpoch(owner.leaderEpoch()).setIsrNodes(List.of(node));
            }
            mt.partitions().add(mp);
        }
        return mt;
    }
}
