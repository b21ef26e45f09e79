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
 * listener binds to 127.0.0.1 whatever host is configured, and says so at start-up. With {@code admin.ssl.*} the
 * listener serves HTTPS and also takes users: HTTP Basic with a SCRAM user's password, or a bearer JWT an
 * OAUTHBEARER listener would take; they act as {@code User:<name>} under the authorizer's ACLs ({@link AdminAccess}).
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
    private final io.runnel.security.AdminSecurity security;
    private final io.runnel.security.AclAuthorizer authorizer;
    private HttpServer server;
    private GroupRoutes groupRoutes;
    private io.runnel.txn.TransactionCoordinator transactions;

    public AdminVerticle(BrokerConfig config, TopicManager topics, PartitionManager partitions, GroupCoordinator groups,
                         BrokerMetrics metrics, Supplier<String> bootstrap) {
        this(config, topics, partitions, groups, metrics, bootstrap, null, null);
    }

    /**
     * @param security the listener's TLS and SCRAM users (null: plain HTTP)
     * @param authorizer what HTTP Basic users may do (null: everything)
     */
    public AdminVerticle(BrokerConfig config, TopicManager topics, PartitionManager partitions, GroupCoordinator groups,
                         BrokerMetrics metrics, Supplier<String> bootstrap,
                         io.runnel.security.AdminSecurity security, io.runnel.security.AclAuthorizer authorizer) {
        this.security = security;
        this.authorizer = authorizer;
        this.config = config;
        this.topics = topics;
        this.partitions = partitions;
        this.groups = groups;
        this.metrics = metrics;
        this.view = new ClusterView(config, topics, partitions, bootstrap);
    }

    /** The transaction coordinator whose transactions {@code /api/v1/transactions} shows; set before deployment. */
    public AdminVerticle withTransactions(io.runnel.txn.TransactionCoordinator coordinator) {
        this.transactions = coordinator;
        return this;
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
        boolean users = security != null && security.usesTls();
        if (users) {
            LOG.info("The admin HTTP API serves HTTPS: HTTP Basic users (SCRAM credentials){}{}",
                    token == null ? "" : ", or the bearer token", authorizer == null ? "" : ", subject to ACLs");
        } else if (token == null && !isLoopback(host)) {
            LOG.warn("admin.auth.token is not set: the admin HTTP API binds to 127.0.0.1 instead of {}", host);
            host = "127.0.0.1";
        } else if (token == null) {
            LOG.info("admin.auth.token is not set: the admin HTTP API is open to local processes on {}", host);
        }
        groupRoutes = new GroupRoutes(groups, view, partitions, metrics);
        Router router = Router.router(vertx);
        if (token != null || users) {
            router.route().handler(ctx -> authenticate(ctx, token, users));
        }
        router.get("/health").handler(ctx -> Responses.json(ctx, 200, new JsonObject().put("status", "UP")));
        router.get("/ready").handler(this::ready);
        router.get("/metrics").handler(this::scrape);
        router.get("/openapi.json").handler(ctx -> ctx.response().putHeader("Content-Type", "application/json")
                .sendFile("admin/openapi.json"));
        Router api = Router.router(vertx);
        api.route().handler(BodyHandler.create(false)
                .setBodyLimit(Math.max(1024 * 1024, 2L * config.getInt(BrokerConfig.MESSAGE_MAX_BYTES))));
        api.route().handler(AdminVerticle::guard);
        api.get("/cluster").handler(ctx -> Responses.json(ctx, 200, view.cluster()));
        api.get("/brokers").handler(ctx -> Responses.json(ctx, 200, view.brokers()));
        new TopicRoutes(config, topics, view, metrics).mount(api);
        new RecordRoutes(vertx, view, partitions, metrics).mount(api);
        groupRoutes.mount(api);
        if (transactions != null) {
            new TransactionRoutes(transactions).mount(api);
        }
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
        HttpServerOptions options = new HttpServerOptions().setHost(host).setPort(port).setCompressionSupported(true);
        if (users) {
            security.applyTo(options);
        }
        server = vertx.createHttpServer(options);
        String boundHost = host;
        server.requestHandler(router).listen().onComplete(ar -> {
            if (ar.succeeded()) {
                LOG.info("Admin HTTP API, console and /metrics on {}://{}:{}/ ({})", users ? "https" : "http",
                        boundHost, server.actualPort(), users ? "users required"
                                : token == null ? "no auth token" : "bearer token required");
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

    /**
     * Who is calling. Precedence: {@code Authorization: Bearer} must be the token (full access); {@code Authorization:
     * Basic} (HTTPS only) must be a SCRAM user's password (that user's ACLs); the live tail also takes the token as
     * {@code access_token}. Anything else is 401.
     */
    private void authenticate(RoutingContext ctx, byte[] token, boolean users) {
        String path = ctx.request().path();
        boolean open = path.equals("/health") || !(path.startsWith("/api/") || path.equals("/metrics")
                || path.equals("/ready") || path.equals("/openapi.json"));
        if (open) {
            ctx.next();
            return;
        }
        String header = ctx.request().getHeader("Authorization");
        if (users && header != null && header.regionMatches(true, 0, "Basic ", 0, 6)) {
            String decoded;
            try {
                decoded = new String(java.util.Base64.getDecoder().decode(header.substring(6).trim()),
                        StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                unauthorized(ctx, token, users, "the basic credentials are not base64");
                return;
            }
            int colon = decoded.indexOf(':');
            String user = colon < 0 ? decoded : decoded.substring(0, colon);
            String password = colon < 0 ? "" : decoded.substring(colon + 1);
            // PBKDF2 is slow by design: off the event loop (unless verified lately); the body waits meanwhile
            // (BodyHandler resumes the request)
            ctx.request().pause();
            Future<Boolean> checked = security.verifiedRecently(user, password) ? Future.succeededFuture(true)
                    : vertx.executeBlocking(() -> security.checkPassword(user, password), false);
            checked.onComplete(ar -> {
                if (ar.succeeded() && ar.result()) {
                    admit(ctx, path, user);
                } else {
                    ctx.request().resume();
                    unauthorized(ctx, token, users, "the user name or password is not valid");
                }
            });
            return;
        }
        String given = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim()
                : path.endsWith("/tail") ? ctx.request().getParam("access_token") : null;
        if (token != null && given != null && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), token)) {
            ctx.next();
            return;
        }
        if (users && given != null && security.acceptsJwts() && given.indexOf('.') > 0) {
            // not the token: a JWT, validated as the OAUTHBEARER listener validates its tokens (off the event loop)
            ctx.request().pause();
            vertx.executeBlocking(() -> security.validateJwt(given), false).onComplete(ar -> {
                if (ar.succeeded() && ar.result() != null) {
                    admit(ctx, path, ar.result());
                } else {
                    ctx.request().resume();
                    unauthorized(ctx, token, users, "the bearer token is not valid");
                }
            });
            return;
        }
        unauthorized(ctx, token, users, given == null ? (users ? "credentials are required"
                : "a bearer token is required") : "the bearer token is not valid");
    }

    /** Goes on as {@code User:<user>}, under the authorizer's ACLs. */
    private void admit(RoutingContext ctx, String path, String user) {
        AdminAccess access = new AdminAccess(authorizer,
                new org.apache.kafka.common.security.auth.KafkaPrincipal(
                        org.apache.kafka.common.security.auth.KafkaPrincipal.USER_TYPE, user),
                ctx.request().remoteAddress() == null ? "*" : ctx.request().remoteAddress().hostAddress());
        ctx.put(AdminAccess.KEY, access);
        if (!path.startsWith("/api/")) {
            ctx.request().resume();
        }
        // the meters name every topic and group: the cluster's DESCRIBE, as DescribeCluster needs
        if (path.equals("/metrics") && !AdminAccess.require(ctx, access.cluster(
                        org.apache.kafka.common.acl.AclOperation.DESCRIBE),
                org.apache.kafka.common.acl.AclOperation.DESCRIBE,
                org.apache.kafka.common.resource.ResourceType.CLUSTER, AdminAccess.CLUSTER)) {
            return;
        }
        ctx.next();
    }

    private static void unauthorized(RoutingContext ctx, byte[] token, boolean users, String message) {
        if (token != null) {
            ctx.response().headers().add("WWW-Authenticate", "Bearer realm=\"runnel\"");
        }
        // a script (the console sends X-Requested-With) gets no Basic challenge, which would make the browser show
        // its own password dialog in front of the console's sign-in form
        if (users && !"XMLHttpRequest".equalsIgnoreCase(ctx.request().getHeader("X-Requested-With"))) {
            ctx.response().headers().add("WWW-Authenticate", "Basic realm=\"runnel\", charset=\"UTF-8\"");
        }
        Responses.json(ctx, 401, new HttpError(401, "unauthorized", message, null).toJson());
    }

    /**
     * What the Kafka API would require of an HTTP Basic user for this API request (CREATE, DELETE, ALTER_CONFIGS,
     * READ, WRITE, DESCRIBE ...): 403 otherwise. Lists are filtered by the routes themselves.
     */
    private static void guard(RoutingContext ctx) {
        AdminAccess access = AdminAccess.of(ctx);
        if (access == AdminAccess.ALL) {
            ctx.next();
            return;
        }
        String path = ctx.request().path();
        String rest = path.startsWith("/api/v1") ? path.substring("/api/v1".length()) : path;
        String[] s = rest.split("/");
        io.vertx.core.http.HttpMethod m = ctx.request().method();
        boolean get = m == io.vertx.core.http.HttpMethod.GET;
        org.apache.kafka.common.acl.AclOperation op = null;
        org.apache.kafka.common.resource.ResourceType type = null;
        String name = null;
        if (s.length >= 3 && s[1].equals("topics")) {
            type = org.apache.kafka.common.resource.ResourceType.TOPIC;
            name = java.net.URLDecoder.decode(s[2], StandardCharsets.UTF_8);
            String sub = s.length >= 4 ? s[3] : "";
            op = switch (sub) {
                case "" -> m == io.vertx.core.http.HttpMethod.DELETE ? org.apache.kafka.common.acl.AclOperation.DELETE
                        : org.apache.kafka.common.acl.AclOperation.DESCRIBE;
                case "configs" -> get ? org.apache.kafka.common.acl.AclOperation.DESCRIBE_CONFIGS
                        : org.apache.kafka.common.acl.AclOperation.ALTER_CONFIGS;
                case "partitions" -> get ? org.apache.kafka.common.acl.AclOperation.DESCRIBE
                        : org.apache.kafka.common.acl.AclOperation.ALTER;
                case "records" -> get ? org.apache.kafka.common.acl.AclOperation.READ
                        : org.apache.kafka.common.acl.AclOperation.WRITE;
                case "tail" -> org.apache.kafka.common.acl.AclOperation.READ;
                default -> org.apache.kafka.common.acl.AclOperation.DESCRIBE;
            };
        } else if (s.length == 2 && s[1].equals("topics") && m == io.vertx.core.http.HttpMethod.POST) {
            // CreateTopics: CREATE on the cluster, or on the topic
            String topic = null;
            try {
                io.vertx.core.json.JsonObject body = ctx.body() == null ? null : ctx.body().asJsonObject();
                topic = body == null || !(body.getValue("name") instanceof String n) ? null : n;
            } catch (RuntimeException e) {
                // not JSON: the route answers 400 if allowed at all
            }
            op = org.apache.kafka.common.acl.AclOperation.CREATE;
            if (access.cluster(op) || (topic != null && access.topic(op, topic))) {
                ctx.next();
                return;
            }
            type = org.apache.kafka.common.resource.ResourceType.TOPIC;
            name = topic == null ? "" : topic;
            AdminAccess.require(ctx, false, op, type, name);
            return;
        } else if (s.length >= 3 && s[1].equals("groups")) {
            type = org.apache.kafka.common.resource.ResourceType.GROUP;
            name = java.net.URLDecoder.decode(s[2], StandardCharsets.UTF_8);
            op = m == io.vertx.core.http.HttpMethod.DELETE ? org.apache.kafka.common.acl.AclOperation.DELETE
                    : get ? org.apache.kafka.common.acl.AclOperation.DESCRIBE
                    : org.apache.kafka.common.acl.AclOperation.READ;
        }
        if (op != null && !AdminAccess.require(ctx, access.allowed(op, type, name), op, type, name)) {
            return;
        }
        ctx.next();
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
