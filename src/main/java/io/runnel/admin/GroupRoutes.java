package io.runnel.admin;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.runnel.cluster.TopicInfo;
import io.runnel.group.GroupCoordinator;
import io.runnel.log.LogBatch;
import io.runnel.metrics.BrokerMetrics;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroup;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroupMember;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseGroup;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponsePartitions;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseTopics;
import org.apache.kafka.common.protocol.Errors;

/**
 * {@code /api/v1/groups...}: list, describe with lag, delete, reset offsets. Everything goes through the
 * {@link GroupCoordinator}'s public API (DescribeGroups v6, OffsetFetch, DeleteGroups, and OffsetCommit
 * with generation -1 as the admin client commits), so the answers are what Kafka clients see. Lag is the
 * partition's high watermark (what a consumer's end offset is) minus the committed offset.
 */
final class GroupRoutes {

    private static final short DESCRIBE_VERSION = 6;
    private static final short COMMIT_VERSION = 8;

    private final GroupCoordinator groups;
    private final ClusterView view;
    private final PartitionManager partitions;
    private final BrokerMetrics metrics;

    GroupRoutes(GroupCoordinator groups, ClusterView view, PartitionManager partitions, BrokerMetrics metrics) {
        this.groups = groups;
        this.view = view;
        this.partitions = partitions;
        this.metrics = metrics;
    }

    void mount(Router api) {
        api.get("/groups").handler(ctx -> Responses.reply(ctx, list(AdminAccess.of(ctx)), 200));
        api.get("/groups/:group").handler(ctx -> Responses.reply(ctx, describe(ctx.pathParam("group")), 200));
        api.delete("/groups/:group").handler(this::delete);
        api.post("/groups/:group/offsets").handler(this::resetOffsets);
    }

    private Future<List<String>> groupIds() {
        return groups.listGroups(List.of(), List.of()).compose(r -> {
            if (r.errorCode() != Errors.NONE.code()) {
                return Future.failedFuture(Errors.forCode(r.errorCode()).exception());
            }
            List<String> ids = new ArrayList<>();
            r.groups().forEach(g -> ids.add(g.groupId()));
            return Future.succeededFuture(ids);
        });
    }

    /** The groups the caller may DESCRIBE, as Kafka's ListGroups shows them. */
    private Future<JsonArray> list(AdminAccess access) {
        return groupIds().compose(ids -> {
            List<Future<JsonObject>> all = new ArrayList<>();
            ids.stream().filter(id -> access.group(org.apache.kafka.common.acl.AclOperation.DESCRIBE, id))
                    .forEach(id -> all.add(describe(id)));
            return Future.all(all).map(cf -> {
                JsonArray out = new JsonArray();
                for (Future<JsonObject> f : all) {
                    JsonObject d = f.result();
                    out.add(new JsonObject().put("groupId", d.getString("groupId")).put("state", d.getString("state"))
                            .put("protocolType", d.getString("protocolType"))
                            .put("members", d.getJsonArray("members").size()).put("totalLag", d.getLong("totalLag")));
                }
                return out;
            });
        });
    }

    /** Every committed partition's lag of every group, for the lag gauges. */
    Future<List<BrokerMetrics.LagSample>> lagSamples() {
        return groupIds().compose(ids -> {
            List<Future<OffsetFetchResponseGroup>> all = new ArrayList<>();
            ids.forEach(id -> all.add(groups.fetchOffsets(id, null, false)));
            return Future.join(all).map(cf -> {
                List<BrokerMetrics.LagSample> out = new ArrayList<>();
                for (int i = 0; i < ids.size(); i++) {
                    if (all.get(i).failed()) {
                        continue;
                    }
                    for (OffsetFetchResponseTopics t : all.get(i).result().topics()) {
                        for (OffsetFetchResponsePartitions p : t.partitions()) {
                            Long lag = lag(t.name(), p.partitionIndex(), p.committedOffset());
                            if (lag != null) {
                                out.add(new BrokerMetrics.LagSample(ids.get(i), t.name(), p.partitionIndex(), lag));
                            }
                        }
                    }
                }
                return out;
            });
        });
    }

    private Long endOffset(String topic, int partition) {
        PartitionOwner o = partitions.get(new TopicPartition(topic, partition));
        return o == null ? null : o.highWatermark();
    }

    private Long lag(String topic, int partition, long committed) {
        Long end = endOffset(topic, partition);
        return end == null || committed < 0 ? null : Math.max(0, end - committed);
    }

    Future<JsonObject> describe(String groupId) {
        Future<DescribedGroup> described = groups.describeGroups(List.of(groupId), DESCRIBE_VERSION).map(l -> l.get(0));
        return described.compose(d -> {
            if (d.errorCode() == Errors.GROUP_ID_NOT_FOUND.code()) {
                return Future.failedFuture(HttpError.notFound("unknown_group", "Group '" + groupId + "' does not exist."));
            }
            if (d.errorCode() != Errors.NONE.code()) {
                return Future.failedFuture(Errors.forCode(d.errorCode()).exception(d.errorMessage()));
            }
            return groups.fetchOffsets(groupId, null, false).map(offsets -> render(d, offsets));
        });
    }

    private JsonObject render(DescribedGroup d, OffsetFetchResponseGroup offsets) {
        boolean consumer = "consumer".equals(d.protocolType());
        JsonArray members = new JsonArray();
        Map<TopicPartition, String> owners = new LinkedHashMap<>();
        for (DescribedGroupMember m : d.members()) {
            JsonArray assignment = new JsonArray();
            if (consumer && m.memberAssignment() != null && m.memberAssignment().length > 0) {
                try {
                    ConsumerPartitionAssignor.Assignment a =
                            ConsumerProtocol.deserializeAssignment(ByteBuffer.wrap(m.memberAssignment()));
                    Map<String, List<Integer>> byTopic = new TreeMap<>();
                    for (TopicPartition tp : a.partitions()) {
                        byTopic.computeIfAbsent(tp.topic(), k -> new ArrayList<>()).add(tp.partition());
                        owners.put(tp, m.memberId());
                    }
                    byTopic.forEach((t, ps) -> assignment.add(new JsonObject().put("topic", t)
                            .put("partitions", new JsonArray(ps.stream().sorted().toList()))));
                } catch (RuntimeException e) {
                    // an assignment in a format we cannot read: shown as none rather than failing the view
                }
            }
            members.add(new JsonObject().put("memberId", m.memberId()).put("groupInstanceId", m.groupInstanceId())
                    .put("clientId", m.clientId()).put("clientHost", m.clientHost()).put("assignment", assignment));
        }
        Map<TopicPartition, OffsetFetchResponsePartitions> committed = new TreeMap<>(
                java.util.Comparator.comparing(TopicPartition::topic).thenComparing(TopicPartition::partition));
        for (OffsetFetchResponseTopics t : offsets.topics()) {
            for (OffsetFetchResponsePartitions p : t.partitions()) {
                committed.put(new TopicPartition(t.name(), p.partitionIndex()), p);
            }
        }
        for (TopicPartition tp : owners.keySet()) {
            committed.putIfAbsent(tp, null);
        }
        JsonArray rows = new JsonArray();
        long total = 0;
        for (Map.Entry<TopicPartition, OffsetFetchResponsePartitions> e : committed.entrySet()) {
            TopicPartition tp = e.getKey();
            OffsetFetchResponsePartitions p = e.getValue();
            long c = p == null ? -1 : p.committedOffset();
            Long end = endOffset(tp.topic(), tp.partition());
            Long lag = lag(tp.topic(), tp.partition(), c);
            if (lag != null) {
                total += lag;
            }
            rows.add(new JsonObject().put("topic", tp.topic()).put("partition", tp.partition())
                    .put("committedOffset", c < 0 ? null : c).put("endOffset", end).put("lag", lag)
                    .put("metadata", p == null ? null : p.metadata()).put("memberId", owners.get(tp)));
        }
        return new JsonObject().put("groupId", d.groupId()).put("state", d.groupState())
                .put("protocolType", d.protocolType()).put("protocol", d.protocolData())
                .put("members", members).put("offsets", rows).put("totalLag", total);
    }

    private void delete(RoutingContext ctx) {
        String groupId = ctx.pathParam("group");
        Responses.reply(ctx, groups.deleteGroups(List.of(groupId)).compose(results -> {
            short code = results.find(groupId).errorCode();
            if (code == Errors.NONE.code()) {
                return Future.succeededFuture(null);
            }
            if (code == Errors.GROUP_ID_NOT_FOUND.code()) {
                return Future.failedFuture(HttpError.notFound("unknown_group", "Group '" + groupId + "' does not exist."));
            }
            if (code == Errors.NON_EMPTY_GROUP.code()) {
                return Future.failedFuture(HttpError.conflict("group_not_empty",
                        "Group '" + groupId + "' has active members; stop its consumers first."));
            }
            return Future.failedFuture(Errors.forCode(code).exception());
        }), 204);
    }

    /** A reset target: where to move and which partitions. */
    private record Reset(String to, Long timestamp, Long offset, List<TopicPartition> partitions) {
    }

    private void resetOffsets(RoutingContext ctx) {
        String groupId = ctx.pathParam("group");
        Responses.handle(ctx, 200, () -> {
            JsonObject body = JsonInput.body(ctx);
            String to = JsonInput.requiredString(body, "to", "to");
            if (!List.of("earliest", "latest", "timestamp", "offset").contains(to)) {
                throw HttpError.badField("to", "to must be one of earliest, latest, timestamp, offset");
            }
            Long timestamp = JsonInput.optionalLong(body, "timestamp", "timestamp");
            Long offset = JsonInput.optionalLong(body, "offset", "offset");
            if (to.equals("timestamp") && (timestamp == null || timestamp < 0)) {
                throw HttpError.badField("timestamp", "timestamp (ms since the epoch) is required with to=timestamp");
            }
            if (to.equals("offset") && (offset == null || offset < 0)) {
                throw HttpError.badField("offset", "a non-negative offset is required with to=offset");
            }
            String topicName = JsonInput.optionalString(body, "topic", "topic");
            JsonArray parts = JsonInput.optionalArray(body, "partitions", "partitions");
            if (parts != null && topicName == null) {
                throw HttpError.badField("topic", "topic is required when partitions are named");
            }
            List<TopicPartition> explicit = null;
            if (topicName != null) {
                TopicInfo t = view.topic(topicName);
                explicit = new ArrayList<>();
                if (parts == null) {
                    for (int p = 0; p < t.partitions(); p++) {
                        explicit.add(new TopicPartition(t.name(), p));
                    }
                } else {
                    for (int i = 0; i < parts.size(); i++) {
                        Object v = parts.getValue(i);
                        if (!(v instanceof Integer p) || p < 0 || p >= t.partitions()) {
                            throw HttpError.badField("partitions[" + i + "]", "partitions[" + i
                                    + "] must be a partition of '" + t.name() + "' (0 to " + (t.partitions() - 1) + ")");
                        }
                        explicit.add(new TopicPartition(t.name(), p));
                    }
                }
            }
            List<TopicPartition> named = explicit;
            return groups.describeGroups(List.of(groupId), DESCRIBE_VERSION).compose(l -> {
                DescribedGroup d = l.get(0);
                boolean exists = d.errorCode() == Errors.NONE.code();
                if (!exists && d.errorCode() != Errors.GROUP_ID_NOT_FOUND.code()) {
                    return Future.failedFuture(Errors.forCode(d.errorCode()).exception(d.errorMessage()));
                }
                if (exists && !d.groupState().equals("Empty")) {
                    // Kafka's kafka-consumer-groups --reset-offsets refuses the same way
                    return Future.failedFuture(HttpError.conflict("group_not_empty", "Offsets of group '" + groupId
                            + "' can only be reset while it is inactive, but its state is " + d.groupState() + "."));
                }
                if (named != null) {
                    return Future.succeededFuture(named);
                }
                if (!exists) {
                    return Future.failedFuture(HttpError.notFound("unknown_group", "Group '" + groupId
                            + "' does not exist; name a topic to set its first offsets."));
                }
                return groups.fetchOffsets(groupId, null, false).map(o -> {
                    List<TopicPartition> tps = new ArrayList<>();
                    o.topics().forEach(t -> t.partitions().forEach(p -> tps.add(new TopicPartition(t.name(), p.partitionIndex()))));
                    return tps;
                });
            }).compose(tps -> {
                if (tps.isEmpty()) {
                    return Future.failedFuture(HttpError.badField("topic",
                            "group '" + groupId + "' has no committed offsets; name a topic"));
                }
                return targets(new Reset(to, timestamp, offset, tps));
            }).compose(targets -> commit(groupId, targets));
        });
    }

    private Future<Map<TopicPartition, Long>> targets(Reset reset) {
        Map<TopicPartition, Future<Long>> pending = new LinkedHashMap<>();
        for (TopicPartition tp : reset.partitions()) {
            PartitionOwner o = partitions.get(tp);
            if (o == null) {
                return Future.failedFuture(new HttpError(503, "partition_offline", tp + " is not online", null));
            }
            long start = o.log().logStartOffset();
            long hw = o.highWatermark();
            pending.put(tp, switch (reset.to()) {
                case "earliest" -> Future.succeededFuture(start);
                case "latest" -> Future.succeededFuture(hw);
                case "offset" -> Future.succeededFuture(Math.max(start, Math.min(hw, reset.offset())));
                // the time index lives on the disk: look it up on the owner's context
                default -> o.submit(() -> o.log().offsetForTimestamp(reset.timestamp())
                        .filter(t -> t.offset() < o.highWatermark()).map(t -> t.offset()).orElse(o.highWatermark()));
            });
        }
        return Future.all(new ArrayList<>(pending.values())).map(cf -> {
            Map<TopicPartition, Long> out = new LinkedHashMap<>();
            pending.forEach((tp, f) -> out.put(tp, f.result()));
            return out;
        });
    }

    private Future<JsonObject> commit(String groupId, Map<TopicPartition, Long> targets) {
        OffsetCommitRequestData request = new OffsetCommitRequestData().setGroupId(groupId)
                .setGenerationIdOrMemberEpoch(-1).setMemberId("");
        Map<String, OffsetCommitRequestData.OffsetCommitRequestTopic> byTopic = new LinkedHashMap<>();
        targets.forEach((tp, off) -> byTopic.computeIfAbsent(tp.topic(), t -> {
            OffsetCommitRequestData.OffsetCommitRequestTopic rt = new OffsetCommitRequestData.OffsetCommitRequestTopic().setName(t);
            request.topics().add(rt);
            return rt;
        }).partitions().add(new OffsetCommitRequestData.OffsetCommitRequestPartition().setPartitionIndex(tp.partition())
                .setCommittedOffset(off).setCommittedLeaderEpoch(LogBatch.NO_PARTITION_LEADER_EPOCH)
                .setCommittedMetadata("")));
        return groups.commitOffsets(request, COMMIT_VERSION).compose(resp -> {
            JsonArray out = new JsonArray();
            for (var t : resp.topics()) {
                for (var p : t.partitions()) {
                    if (p.errorCode() != Errors.NONE.code()) {
                        Errors e = Errors.forCode(p.errorCode());
                        if (e == Errors.UNKNOWN_MEMBER_ID || e == Errors.ILLEGAL_GENERATION
                                || e == Errors.REBALANCE_IN_PROGRESS) {
                            return Future.failedFuture(HttpError.conflict("group_not_empty", "Group '" + groupId
                                    + "' became active during the reset: " + e.message()));
                        }
                        return Future.failedFuture(e.exception());
                    }
                    out.add(new JsonObject().put("topic", t.name()).put("partition", p.partitionIndex())
                            .put("offset", targets.get(new TopicPartition(t.name(), p.partitionIndex()))));
                }
            }
            return Future.succeededFuture(new JsonObject().put("groupId", groupId).put("offsets", out));
        });
    }
}
