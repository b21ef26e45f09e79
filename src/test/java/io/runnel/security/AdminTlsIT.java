package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import io.runnel.Broker;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The admin HTTP API over HTTPS (admin.ssl.* stores) with HTTP Basic users checked against the SCRAM credentials
 * of the metadata log, and the authorizer's ACLs: alice, who may DESCRIBE topic a only, sees only a and may not
 * create topics; the super user admin sees and does everything; the bearer token still works; the console signs
 * users in.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AdminTlsIT {

    private static final String TOKEN = "ops-token";

    @TempDir
    static Path dir;
    static Broker broker;
    static HttpClient https;
    static String suffix = Long.toHexString(System.nanoTime());
    static String topicA = "a-" + suffix;
    static String topicB = "b-" + suffix;

    @BeforeAll
    static void start() throws Exception {
        TestCertificates certs = TestCertificates.create(Files.createDirectories(dir.resolve("certs")));
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,OAUTH://127.0.0.1:0");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,OAUTH:SASL_PLAINTEXT");
        // an OAUTHBEARER listener with kafka-clients' unsecured validator (no handler class): the admin API takes
        // the JWTs that listener takes
        p.put("listener.name.oauth.sasl.enabled.mechanisms", "OAUTHBEARER");
        p.put("listener.name.oauth.oauthbearer.sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;");
        p.put("admin.listener", "127.0.0.1:0");
        p.put("admin.auth.token", TOKEN);
        p.put("admin.ssl.keystore.type", "PKCS12");
        p.put("admin.ssl.keystore.location", certs.serverKeystore().toString());
        p.put("admin.ssl.keystore.password", TestCertificates.STORE_PASSWORD);
        p.put("admin.ssl.key.password", TestCertificates.STORE_PASSWORD);
        p.put("offsets.topic.num.partitions", "1");
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        // the test's own Kafka client connects on PLAINTEXT as User:ANONYMOUS
        p.put("super.users", "User:admin;User:ANONYMOUS");
        broker = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);

        KeyStore trust = KeyStore.getInstance("JKS");
        try (InputStream in = Files.newInputStream(certs.truststore())) {
            trust.load(in, TestCertificates.TRUST_PASSWORD.toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        https = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(10)).build();

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000))) {
            admin.createTopics(List.of(new NewTopic(topicA, 1, (short) 1), new NewTopic(topicB, 1, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
            admin.alterUserScramCredentials(List.of(
                    new UserScramCredentialUpsertion("alice", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256,
                            4096), "alice-secret"),
                    new UserScramCredentialUpsertion("admin", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512,
                            4096), "admin-secret"),
                    new UserScramCredentialUpsertion("carol", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256,
                            4096), "carol-secret"))).all().get(30, TimeUnit.SECONDS);
            admin.createAcls(List.of(new AclBinding(new ResourcePattern(ResourceType.TOPIC, topicA, PatternType.LITERAL),
                    new AccessControlEntry("User:alice", "*", AclOperation.DESCRIBE, AclPermissionType.ALLOW)),
                    // carol, the console user: READ on a (which implies DESCRIBE), nothing on b
                    new AclBinding(new ResourcePattern(ResourceType.TOPIC, topicA, PatternType.LITERAL),
                            new AccessControlEntry("User:carol", "*", AclOperation.READ, AclPermissionType.ALLOW))))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (broker != null) {
            broker.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    private static HttpResponse<String> call(String method, String path, String auth, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://localhost:" + broker.adminPort() + path))
                .timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return https.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> topicNames(HttpResponse<String> r) {
        List<String> names = new ArrayList<>();
        for (Object o : new JsonArray(r.body())) {
            names.add(((JsonObject) o).getString("name"));
        }
        return names;
    }

    /** The users' credentials reach the metadata image a moment after AlterUserScramCredentials answers. */
    private static HttpResponse<String> awaitLogin(String auth, String path) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        HttpResponse<String> r = call("GET", path, auth, null);
        while (r.statusCode() == 401 && System.nanoTime() < deadline) {
            Thread.sleep(200);
            r = call("GET", path, auth, null);
        }
        return r;
    }

    @Test
    void plainHttpIsRefusedOnTheHttpsPort() {
        HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + broker.adminPort() + "/health"))
                .timeout(Duration.ofSeconds(10)).build();
        // the TLS server answers no HTTP to a plain request: the exchange fails or gets no HTTP 200
        assertThatThrownBy(() -> {
            HttpResponse<String> r = plain.send(req, HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
        }).isInstanceOfAny(java.io.IOException.class, AssertionError.class);
    }

    @Test
    void usersLogInWithTheirScramPasswords() throws Exception {
        assertThat(call("GET", "/health", null, null).statusCode()).isEqualTo(200);
        assertThat(awaitLogin(basic("alice", "alice-secret"), "/api/v1/cluster").statusCode()).isEqualTo(200);
        HttpResponse<String> wrong = call("GET", "/api/v1/topics", basic("alice", "nope"), null);
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(new JsonObject(wrong.body()).getString("error")).isEqualTo("unauthorized");
        assertThat(wrong.headers().allValues("WWW-Authenticate")).anySatisfy(v -> assertThat(v).startsWith("Basic"));
        assertThat(call("GET", "/api/v1/topics", basic("nobody", "alice-secret"), null).statusCode()).isEqualTo(401);
        assertThat(call("GET", "/api/v1/topics", null, null).statusCode()).isEqualTo(401);
    }

    @Test
    void aclsDecideWhatAUserSeesAndDoes() throws Exception {
        String alice = basic("alice", "alice-secret");
        HttpResponse<String> list = awaitLogin(alice, "/api/v1/topics");
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(topicNames(list)).contains(topicA).doesNotContain(topicB);
        assertThat(call("GET", "/api/v1/topics/" + topicA, alice, null).statusCode()).isEqualTo(200);
        HttpResponse<String> hidden = call("GET", "/api/v1/topics/" + topicB, alice, null);
        assertThat(hidden.statusCode()).isEqualTo(403);
        assertThat(new JsonObject(hidden.body()).getString("error")).isEqualTo("forbidden");
        String created = "c-" + suffix;
        HttpResponse<String> create = call("POST", "/api/v1/topics", alice,
                new JsonObject().put("name", created).encode());
        assertThat(create.statusCode()).isEqualTo(403);
        assertThat(new JsonObject(create.body()).getString("error")).isEqualTo("forbidden");
        assertThat(call("DELETE", "/api/v1/topics/" + topicA, alice, null).statusCode()).isEqualTo(403);
        assertThat(call("GET", "/metrics", alice, null).statusCode()).isEqualTo(403);

        String admin = basic("admin", "admin-secret");
        HttpResponse<String> all = awaitLogin(admin, "/api/v1/topics");
        assertThat(all.statusCode()).isEqualTo(200);
        assertThat(topicNames(all)).contains(topicA, topicB);
        assertThat(call("POST", "/api/v1/topics", admin, new JsonObject().put("name", created).encode()).statusCode())
                .isEqualTo(201);
        assertThat(call("GET", "/metrics", admin, null).statusCode()).isEqualTo(200);

        // the bearer token keeps working, with full access
        HttpResponse<String> token = call("GET", "/api/v1/topics", "Bearer " + TOKEN, null);
        assertThat(token.statusCode()).isEqualTo(200);
        assertThat(topicNames(token)).contains(topicA, topicB, created);
        assertThat(call("GET", "/api/v1/topics", "Bearer wrong", null).statusCode()).isEqualTo(401);
    }

    /** An unsecured JWT (alg none), as kafka-clients' unsecured validator takes it. */
    private static String jwt(String sub, long expiresInSeconds) {
        long now = System.currentTimeMillis() / 1000;
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(new JsonObject().put("sub", sub).put("iat", now - 10)
                        .put("exp", now + expiresInSeconds).encode().getBytes(StandardCharsets.UTF_8)) + ".";
    }

    @Test
    void bearerJwtsAreValidatedAsTheOAuthListenerValidatesThem() throws Exception {
        HttpResponse<String> list = call("GET", "/api/v1/topics", "Bearer " + jwt("alice", 600), null);
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(topicNames(list)).contains(topicA).doesNotContain(topicB);
        assertThat(call("POST", "/api/v1/topics", "Bearer " + jwt("alice", 600),
                new JsonObject().put("name", "j-" + suffix).encode()).statusCode()).isEqualTo(403);
        assertThat(topicNames(call("GET", "/api/v1/topics", "Bearer " + jwt("admin", 600), null)))
                .contains(topicA, topicB);
        HttpResponse<String> expired = call("GET", "/api/v1/topics", "Bearer " + jwt("alice", -600), null);
        assertThat(expired.statusCode()).isEqualTo(401);
        assertThat(call("GET", "/api/v1/topics", "Bearer not.a.jwt", null).statusCode()).isEqualTo(401);
    }

    /**
     * The console in headless Chromium over HTTPS: a wrong password brings the sign-in form back with the node's
     * message; carol signs in with her SCRAM password, sees topic a and not b, opens a (whose configs she may not
     * describe) and its live tail shows a record produced with the Java producer; signing out asks again. Skipped,
     * saying why, without Debian's chromium and chromium-driver.
     */
    @Test
    void consoleUsersSignInAndSeeWhatTheirAclsAllow() throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        Path chromedriver = Path.of("/usr/bin/chromedriver");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(chromium) && Files.isExecutable(chromedriver),
                "console browser test skipped: install Debian chromium and chromium-driver (scripts/install-test-deps.sh)");
        assertThat(awaitLogin(basic("carol", "carol-secret"), "/api/v1/topics").statusCode()).isEqualTo(200);
        Path profile = Files.createTempDirectory("runnel-chromium");
        ChromeOptions options = new ChromeOptions().setBinary(chromium.toString()).addArguments("--headless",
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                // the test's own CA: Chromium does not read the JKS truststore
                "--ignore-certificate-errors", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(chromedriver.toFile())
                .usingAnyFreePort().build();
        WebDriver driver = new ChromeDriver(service, options);
        try {
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
            driver.get("https://localhost:" + broker.adminPort() + "/");
            wait.until(d -> !d.findElements(By.id("login")).isEmpty());
            signIn(driver, "carol", "wrong-password");
            wait.until(d -> !d.findElements(By.id("login-message")).isEmpty()
                    && d.findElement(By.id("login-message")).getText().contains("not valid"));
            signIn(driver, "carol", "carol-secret");
            By linkA = By.cssSelector("a.topic-link[data-topic='" + topicA + "']");
            wait.until(d -> !d.findElements(linkA).isEmpty());
            assertThat(driver.findElements(By.cssSelector("a.topic-link[data-topic='" + topicB + "']"))).isEmpty();
            assertThat(driver.findElement(By.id("who")).getText()).contains("carol");
            driver.findElement(linkA).click();
            wait.until(d -> !d.findElements(By.id("tail")).isEmpty()
                    && topicA.equals(d.findElement(By.id("topic-name")).getText()));
            String value = "console-user-" + System.nanoTime();
            try (org.apache.kafka.clients.producer.KafkaProducer<String, String> p =
                    new org.apache.kafka.clients.producer.KafkaProducer<>(Map.of("bootstrap.servers",
                            broker.bootstrapServers(), "key.serializer",
                            org.apache.kafka.common.serialization.StringSerializer.class.getName(), "value.serializer",
                            org.apache.kafka.common.serialization.StringSerializer.class.getName()))) {
                p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topicA, "k", value)).get(30,
                        TimeUnit.SECONDS);
            }
            wait.until(d -> d.findElements(By.cssSelector("#tail .tail-record .value")).stream()
                    .anyMatch(e -> e.getText().equals(value)));
            Path shot = Path.of("target", "console-signed-in.png");
            Files.createDirectories(shot.getParent());
            Files.write(shot, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
            driver.findElement(By.id("sign-out")).click();
            wait.until(d -> !d.findElements(By.id("login")).isEmpty());
        } finally {
            driver.quit();
        }
    }

    private static void signIn(WebDriver driver, String user, String password) {
        WebElement form = driver.findElement(By.id("login"));
        form.findElement(By.name("user")).sendKeys(user);
        form.findElement(By.name("password")).sendKeys(password);
        form.findElement(By.id("login-submit")).click();
    }

    @Test
    void aBadKeystoreStopsStartUpNamingTheKey() {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("refused").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0");
        p.put("admin.listener", "127.0.0.1:0");
        p.put("admin.ssl.keystore.location", dir.resolve("missing.p12").toString());
        p.put("admin.ssl.keystore.password", "x");
        assertThatThrownBy(() -> Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS))
                .hasMessageContaining("ssl.keystore.location");
    }
}
