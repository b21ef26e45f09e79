package io.runnel.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.function.Supplier;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.group.GroupCoordinator;
import io.runnel.metrics.BrokerMetrics;
import io.runnel.partition.PartitionManager;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.StaticHandler;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP surface on {@code admin.listener}: the JSON API under {@code /api/v1} (described by
 * {@code /openapi.json}), the web console at {@code /}, {@code /health}, {@code /ready} and
 * {@code /metrics} (Prometheus text format).
 *
 * <p>Auth: with {@code admin.auth.token} set, every request except the console's static files and
 * {@code /health} (neither carries data) needs {@code Authorization: Bearer <token>}; the live tail, which
 * browsers open with EventSource (no headers), may pass it as {@code access_token}. Without a token the
 * listener binds to 127.0.0.1 whatever host is configured, and says so at start-up.
 *
 * <p>Threading: one instance on one event loop. Routes never block: they call futures of the topic
 * manager, the partition owners and the group coordinator, and disk reads go to executeBlocking.
 */
public final class AdminVerticle extends AbstractVerticle {

    private static final Logger LOG = LoggerFactory.getLogger(AdminVerticle.class);

    private final BrokerConfig config;
    private final TopicManager topics;
    private final PartitionManager partitions;
    private final GroupCoordinator groups;
    private final BrokerMetrics metrics;
    private final ClusterView view;
    private HttpServer server;
    private GroupRoutes groupRoutes;

    public AdminVerticle(BrokerConfig config, TopicManager topics, PartitionManager partitions, GroupCoordinator groups,
                         BrokerMetrics metrics, Supplier<String> bootstrap) {
        this.config = config;
        this.topics = topics;
        this.partitions = partitions;
        this.groups = groups;
        this.metrics = metrics;
        this.view = new ClusterView(config, topics, partitions, bootstrap);
    }

    @Override
    public void start(Promise<Void> startPromise) {
        String listener = config.getString(BrokerConfig.ADMIN_LISTENER);
        int colon = listener.lastIndexOf(':');
        String host;
        int port;
        try {
            host = colon <= 0 ? "127.0.0.1" : listener.substring(0, colon);
            port = Integer.parseInt(listener.substring(colon + 1));
        } catch (NumberFormatException e) {
            startPromise.fail(new org.apache.kafka.common.config.ConfigException(BrokerConfig.ADMIN_LISTENER, listener,
                    "expected host:port"));
            return;
        }
        Password password = config.getPassword(BrokerConfig.ADMIN_AUTH_TOKEN);
        byte[] token = password == null || password.value().isEmpty() ? null
                : password.value().getBytes(StandardCharsets.UTF_8);
        if (token == null && !isLoopback(host)) {
            LOG.warn("admin.auth.token is not set: the admin HTTP API binds to 127.0.0.1 instead of {}", host);
            host = "127.0.0.1";
        } else if (token == null) {
            LOG.info("admin.auth.token is not set: the admin HTTP API is open to local processes on {}", host);
        }
        groupRoutes = new GroupRoutes(groups, view, partitions, metrics);
        Router router = Router.router(vertx);
        if (token != null) {
            router.route().handler(ctx -> authorize(ctx, token));
        }
        router.get("/health").handler(ctx -> Responses.json(ctx, 200, new JsonObject().put("status", "UP")));
        router.get("/ready").handler(this::ready);
        router.get("/metrics").handler(this::scrape);
        router.get("/openapi.json").handler(ctx -> ctx.response().putHeader("Content-Type", "application/json")
                .sendFile("admin/openapi.json"));
        Router api = Router.router(vertx);
        api.route().handler(BodyHandler.create(false)
                .setBodyLimit(Math.max(1024 * 1024, 2L * config.getInt(BrokerConfig.MESSAGE_MAX_BYTES))));
        api.get("/cluster").handler(ctx -> Responses.json(ctx, 200, view.cluster()));
        api.get("/brokers").handler(ctx -> Responses.json(ctx, 200, view.brokers()));
        new TopicRoutes(config, topics, view, metrics).mount(api);
        new RecordRoutes(vertx, view, partitions, metrics).mount(api);
        groupRoutes.mount(api);
        api.route().handler(ctx -> Responses.json(ctx, 404, HttpError.notFound("not_found",
                "No route for " + ctx.request().method() + " " + ctx.request().path()).toJson()));
        router.route("/api/v1/*").subRouter(api);
        router.route("/*").handler(StaticHandler.create("console").setCachingEnabled(false));
        router.route().failureHandler(ctx -> {
            if (ctx.failure() != null) {
                Responses.fail(ctx, ctx.failure());
            } else {
                int status = ctx.statusCode();
                Responses.json(ctx, status, new HttpError(status, status == 413 ? "body_too_large" : "http_" + status,
                        status == 413 ? "the body is larger than the limit" : "request failed",
                        status == 413 ? "body" : null).toJson());
            }
        });
        server = vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port)
                .setCompressionSupported(true));
        String boundHost = host;
        server.requestHandler(router).listen().onComplete(ar -> {
            if (ar.succeeded()) {
                LOG.info("Admin HTTP API, console and /metrics on http://{}:{}/ ({})", boundHost, server.actualPort(),
                        token == null ? "no auth token" : "bearer token required");
                startPromise.complete();
            } else {
                startPromise.fail(ar.cause());
            }
        });
    }

    public int actualPort() {
        return server.actualPort();
    }

    private static boolean isLoopback(String host) {
        return host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1") || host.startsWith("127.");
    }

    private static void authorize(RoutingContext ctx, byte[] token) {
        String path = ctx.request().path();
        boolean open = path.equals("/health") || !(path.startsWith("/api/") || path.equals("/metrics")
                || path.equals("/ready") || path.equals("/openapi.json"));
        if (open) {
            ctx.next();
            return;
        }
        String header = ctx.request().getHeader("Authorization");
        String given = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim()
                : path.endsWith("/tail") ? ctx.request().getParam("access_token") : null;
        if (given != null && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), token)) {
            ctx.next();
            return;
        }
        ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"runnel\"");
        Responses.json(ctx, 401, new HttpError(401, "unauthorized",
                given == null ? "a bearer token is required" : "the bearer token is not valid", null).toJson());
    }

    /** Ready once the Kafka listener is up (this verticle starts after it) and the groups are loaded. */
    private void ready(RoutingContext ctx) {
        groups.listGroups(java.util.List.of(), java.util.List.of()).onComplete(ar -> {
            boolean loaded = ar.succeeded() && ar.result().errorCode() == Errors.NONE.code();
            Responses.json(ctx, loaded ? 200 : 503, new JsonObject().put("status", loaded ? "READY" : "NOT_READY")
                    .put("groupsLoaded", loaded).put("topics", topics.topics().size()));
        });
    }

    /** Refreshes the partition and lag gauges, then renders every meter in Prometheus text format. */
    private void scrape(RoutingContext ctx) {
        metrics.refreshPartitions(partitions);
        metrics.refreshQuotas();
        Future<Void> lag = groupRoutes.lagSamples().map(samples -> {
            metrics.updateLag(samples);
            return null;
        });
        lag.onComplete(ar -> {
            if (ar.failed()) {
                // groups still loading: the rest of the scrape is still worth having
                LOG.debug("Lag not refreshed for this scrape: {}", ar.cause().toString());
            }
            PrometheusMeterRegistry registry = (PrometheusMeterRegistry) metrics.registry();
            ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                    .end(registry.scrape());
        });
    }
}
