package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in headless Chromium (Debian's chromium and chromium-driver, installed by
 * scripts/install-test-deps.sh): it lists a topic created by the test, opens it, and shows a record
 * produced with the Java producer in the live tail. Saves target/console-*.png. Skipped, saying why,
 * when /usr/bin/chromium or /usr/bin/chromedriver is absent.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConsoleBrowserIT {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create();

    @Test
    void consoleShowsTopicAndLiveTailsAProducedRecord() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "console browser test skipped: install Debian chromium and chromium-driver (scripts/install-test-deps.sh)");
        String topic = RunnelNode.uniqueName("console");
        node.createTopic(topic, 2);
        Path profile = Files.createTempDirectory("runnel-chromium");
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toString()).addArguments("--headless",
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        WebDriver driver = new ChromeDriver(service, options);
        try {
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
            driver.get("http://127.0.0.1:" + node.broker().adminPort() + "/");
            By link = By.cssSelector("a.topic-link[data-topic='" + topic + "']");
            wait.until(d -> !d.findElements(link).isEmpty());
            screenshot(driver, "console-overview.png");
            driver.findElement(link).click();
            wait.until(d -> !d.findElements(By.id("tail")).isEmpty()
                    && topic.equals(d.findElement(By.id("topic-name")).getText()));
            assertThat(driver.findElements(By.cssSelector("#partitions tbody tr"))).hasSize(2);

            String value = "hello-from-the-test-" + System.nanoTime();
            try (KafkaProducer<String, String> p = node.producer()) {
                p.send(new ProducerRecord<>(topic, 1, "console-key", value)).get(30, TimeUnit.SECONDS);
            }
            wait.until(d -> d.findElements(By.cssSelector("#tail .tail-record .value")).stream()
                    .anyMatch(e -> e.getText().equals(value)));
            screenshot(driver, "console-topic.png");
        } finally {
            driver.quit();
        }
    }

    private static void screenshot(WebDriver driver, String name) throws Exception {
        Path out = Path.of("target", name);
        Files.createDirectories(out.getParent());
        Files.write(out, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
    }
}
