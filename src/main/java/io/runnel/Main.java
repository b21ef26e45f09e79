package io.runnel;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.config.ConfigLoader;
import org.apache.kafka.common.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar runnel.jar [--config FILE] [--override key=value ...]}: starts one node. A bad
 * configuration stops start-up with a message naming the key.
 */
public final class Main {

    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        if (Boolean.getBoolean(ClassDataTraining.PROPERTY)) {
            ClassDataTraining.main(args);
            return;
        }
        long started = System.nanoTime();
        // Netty 4.2's allocator registers its JFR event types on the first pooled allocation, which takes
        // about 0.1 s of CPU (JFR's settings machinery, generated proxies) just as the first request
        // arrives; the events are off unless a recording enables them. -Dio.netty.jfr.enabled=true wins.
        if (System.getProperty("io.netty.jfr.enabled") == null) {
            System.setProperty("io.netty.jfr.enabled", "false");
        }
        Map<String, String> props;
        Broker broker;
        try {
            props = ConfigLoader.fromArgs(args, System.getenv());
            broker = Broker.start(props).toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
        } catch (Exception e) {
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
                    ? e.getCause() : e;
            if (cause instanceof ConfigException) {
                System.err.println("Invalid configuration: " + cause.getMessage());
            } else {
                System.err.println("Runnel failed to start: " + cause);
                LOG.error("Start-up failed", cause);
            }
            System.exit(1);
            return;
        }
        LOG.info("Started in {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        Broker running = broker;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                running.closeAndWait(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("Clean shutdown failed: " + e);
            }
        }, "runnel-shutdown"));
    }
}
