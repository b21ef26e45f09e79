package io.runnel;

import java.time.ZoneId;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * Runnel's built-in logging set-up, found by logback through {@code ServiceLoader} before its own
 * configurators: one console appender writing lines of the pattern {@link #PATTERN}, Kafka's client classes at WARN,
 * Netty at INFO, and the root level from {@code -Drunnel.log.level} (default INFO).
 *
 * <p>Why in code: logback's XML path (Joran: SAX parser, model building, model processors) took about
 * 180 ms of an empty node's 0.7 s start-up; this takes a few. A configuration of the user's own still
 * wins: with {@code -Dlogback.configurationFile=FILE}, or a {@code logback.xml} / {@code logback-test.xml}
 * on the class path (tests), this steps aside and logback's usual configurators run.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogConfigurator extends ContextAwareBase implements Configurator {

    /** The console line, as logback's pattern; {@link LogLayout} writes it. */
    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n";
    static final int LOGGER_NAME_LENGTH = 20;
    static final String LEVEL_PROPERTY = "runnel.log.level";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (userConfigured(getClass().getClassLoader())) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        apply(context);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** The built-in set-up, what src/main/resources/logback.xml used to say. */
    static void apply(LoggerContext context) {
        // PATTERN, formatted by hand (LogLayout says why)
        LogLayout layout = new LogLayout(LOGGER_NAME_LENGTH, ZoneId.systemDefault());
        layout.setContext(context);
        layout.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(context);
        encoder.setLayout(layout);
        encoder.start();

        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName("STDOUT");
        console.setEncoder(encoder);
        console.start();

        context.getLogger("org.apache.kafka").setLevel(Level.WARN);
        // Ratis logs every setting it reads and every election step at INFO; its warnings still show
        context.getLogger("org.apache.ratis").setLevel(Level.WARN);
        // a leader retries a dead follower every few hundred ms and warns each time; the fence record says it
        context.getLogger("org.apache.ratis.server.leader.LogAppender").setLevel(Level.ERROR);
        context.getLogger("io.netty").setLevel(Level.INFO);
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(System.getProperty(LEVEL_PROPERTY), Level.INFO));
        root.addAppender(console);
    }

    /** True when the user (or the test class path) supplies a logback configuration of their own. */
    static boolean userConfigured(ClassLoader loader) {
        String file = System.getProperty("logback.configurationFile");
        if (file != null && !file.isBlank()) {
            return true;
        }
        ClassLoader cl = loader != null ? loader : ClassLoader.getSystemClassLoader();
        return cl.getResource("logback-test.xml") != null || cl.getResource("logback.xml") != null;
    }
}
