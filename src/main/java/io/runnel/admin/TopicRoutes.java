package io.runnel.admin;

import java.util.Map;
import java.util.TreeMap;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.config.TopicConfigs;
import io.runnel.metrics.BrokerMetrics;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code /api/v1/topics...} except records: list, create, describe, delete, configs, partitions. Every
 * change goes through {@link TopicManager}, the same path CreateTopics, DeleteTopics, CreatePartitions
 * and IncrementalAlterConfigs take, so the rules and messages are Kafka's.
 */
final class TopicRoutes {

    private final BrokerConfig config;
    private final TopicManager topics;
    private final ClusterView view;
    private final BrokerMetrics metrics;

    TopicRoutes(BrokerConfig config, TopicManager topics, ClusterView view, BrokerMetrics metrics) {
        this.config = config;
        this.topics = topics;
        this.view = view;
        this.metrics = metrics;
    }

    void mount(Router api) {
        // as Kafka's Metadata hides them: only the topics the caller may DESCRIBE
        api.get("/topics").handler(ctx -> {
            AdminAccess access = AdminAccess.of(ctx);
            io.vertx.core.json.JsonArray all = view.topicList();
            io.vertx.core.json.JsonArray visible = new io.vertx.core.json.JsonArray();
            for (Object t : all) {
                if (access.topic(org.apache.kafka.common.acl.AclOperation.DESCRIBE,
                        ((io.vertx.core.json.JsonObject) t).getString("name"))) {
                    visible.add(t);
                }
            }
            Responses.json(ctx, 200, visible);
        });
        api.post("/topics").handler(this::create);
        api.get("/topics/:topic").handler(ctx -> Responses.handle(ctx, 200,
                () -> Future.succeededFuture(view.topicDetail(view.topic(ctx.pathParam("topic"))))));
        api.delete("/topics/:topic").handler(this::delete);
        api.get("/topics/:topic/configs").handler(ctx -> Responses.handle(ctx, 200,
                () -> Future.succeededFuture(configs(view.topic(ctx.pathParam("topic"))))));
        api.patch("/topics/:topic/configs").handler(ctx -> alterConfigs(ctx, false));
        api.put("/topics/:topic/configs").handler(ctx -> alterConfigs(ctx, true));
        api.get("/topics/:topic/partitions").handler(ctx -> Responses.handle(ctx, 200,
                () -> Future.succeededFuture(view.partitions(view.topic(ctx.pathParam("topic"))))));
        api.post("/topics/:topic/partitions").handler(this::addPartitions);
    }

    private void create(RoutingContext ctx) {
        Responses.handle(ctx, 201, () -> {
            JsonObject body = JsonInput.body(ctx);
            String name = JsonInput.requiredString(body, "name", "name");
            Integer partitions = JsonInput.optionalInt(body, "partitions", "partitions");
            Integer rf = JsonInput.optionalInt(body, "replicationFactor", "replicationFactor");
            JsonObject configJson = JsonInput.optionalObject(body, "configs", "configs");
            Map<String, String> configs = configJson == null ? Map.of() : JsonInput.stringMap(configJson, "configs", false);
            if (partitions != null && partitions <= 0) {
                throw HttpError.badField("partitions", "partitions must be at least 1");
            }
            if (rf != null && (rf <= 0 || rf > Short.MAX_VALUE)) {
                throw HttpError.badField("replicationFactor", "replicationFactor must be at least 1");
            }
            for (String key : configs.keySet()) {
                if (!TopicConfigs.isKnown(key)) {
                    throw HttpError.badField("configs." + key, "Unknown topic config name: " + key);
                }
            }
            return topics.create(name, partitions == null ? -1 : partitions,
                    rf == null ? (short) -1 : rf.shortValue(), configs, false).map(view::topicDetail);
        });
    }

    private void delete(RoutingContext ctx) {
        String name = ctx.pathParam("topic");
        Responses.handle(ctx, 204, () -> {
            view.topic(name);
            if (org.apache.kafka.common.internals.Topic.isInternal(name)) {
                throw new HttpError(403, "internal_topic", "Internal topic " + name + " cannot be deleted", null);
            }
            return topics.delete(name).map(v -> {
                metrics.removeTopic(name);
                return null;
            });
        });
    }

    private JsonObject configs(TopicInfo t) {
        Map<String, Object> effective = TopicConfigs.effective(t.configs(), config);
        JsonArray list = new JsonArray();
        for (Map.Entry<String, Object> e : new TreeMap<>(effective).entrySet()) {
            list.add(new JsonObject().put("name", e.getKey()).put("value", TopicConfigs.render(e.getValue()))
                    .put("source", t.configs().containsKey(e.getKey()) ? "TOPIC" : "DEFAULT"));
        }
        return new JsonObject().put("topic", t.name()).put("configs", list);
    }

    /**
     * PATCH merges (a null value removes the override, as JSON merge patch does); PUT replaces every
     * override. Both apply atomically on the metadata context.
     */
    private void alterConfigs(RoutingContext ctx, boolean replace) {
        String name = ctx.pathParam("topic");
        Responses.handle(ctx, 200, () -> {
            view.topic(name);
            JsonObject body = JsonInput.body(ctx);
            Map<String, String> changes = JsonInput.stringMap(body, "configs", !replace);
            for (String key : changes.keySet()) {
                if (!TopicConfigs.isKnown(key)) {
                    throw HttpError.badField("configs." + key, "Unknown topic config name: " + key);
                }
            }
            return topics.alterConfigs(name, current -> {
                if (replace) {
                    current.clear();
                }
                changes.forEach((k, v) -> {
                    if (v == null) {
                        current.remove(k);
                    } else {
                        current.put(k, v);
                    }
                });
                return current;
            }, false).map(this::configs);
        });
    }

    private void addPartitions(RoutingContext ctx) {
        String name = ctx.pathParam("topic");
        Responses.handle(ctx, 200, () -> {
            view.topic(name);
            JsonObject body = JsonInput.body(ctx);
            Integer count = JsonInput.optionalInt(body, "count", "count");
            if (count == null) {
                throw HttpError.badField("count", "count (the new total number of partitions) is required");
            }
            return topics.createPartitions(name, count, false).map(view::partitions)
                    .recover(t -> Future.failedFuture(t instanceof org.apache.kafka.common.errors.InvalidPartitionsException
                            ? HttpError.badField("count", t.getMessage()) : t));
        });
    }
}
