package io.runnel;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.List;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.ConsoleAppender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogConfiguratorTest {

    @AfterEach
    void clearProperties() {
        System.clearProperty(LogConfigurator.LEVEL_PROPERTY);
        System.clearProperty("logback.configurationFile");
    }

    @Test
    void builtInSetUpHasTheConsolePatternAndLevels() {
        LoggerContext context = new LoggerContext();
        LogConfigurator.apply(context);

        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.INFO);
        assertThat(context.getLogger("org.apache.kafka").getLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("io.netty").getLevel()).isEqualTo(Level.INFO);
        ConsoleAppender<?> console = (ConsoleAppender<?>) root.getAppender("STDOUT");
        assertThat(console).isNotNull();
        assertThat(console.isStarted()).isTrue();
        assertThat(((LayoutWrappingEncoder<?>) console.getEncoder()).getLayout()).isInstanceOf(LogLayout.class);
        context.stop();
    }

    @Test
    void writesWhatLogbacksPatternLayoutWritesForThePattern() {
        // a zone half an hour off UTC, and the default one, against logback's own rendering of the pattern
        for (String zone : List.of("Asia/Kolkata", ZoneId.systemDefault().getId())) {
            LoggerContext context = new LoggerContext();
            PatternLayout reference = new PatternLayout();
            reference.setContext(context);
            reference.setPattern(LogConfigurator.PATTERN.replace("%d{HH:mm:ss.SSS}", "%d{HH:mm:ss.SSS, " + zone + "}"));
            reference.start();
            LogLayout layout = new LogLayout(LogConfigurator.LOGGER_NAME_LENGTH, ZoneId.of(zone));
            layout.setContext(context);
            layout.start();

            IllegalStateException cause = new IllegalStateException("disk gone");
            RuntimeException thrown = new RuntimeException("append failed", cause);
            thrown.addSuppressed(new java.io.IOException("close failed"));
            long[] times = {0L, 1_000L, 86_399_999L, 1_796_653_137_008L, 1_796_653_137_080L, 1_796_653_199_999L, -1L};
            Level[] levels = {Level.INFO, Level.WARN, Level.ERROR, Level.DEBUG, Level.TRACE, Level.INFO, Level.WARN};
            String[] loggers = {"io.runnel.Broker", "io.runnel.replication.ReplicaFetcherManager", "Main",
                    "org.apache.ratis.server.leader.LogAppender", "a.b", "io.runnel.log.LogCleaner", "x"};
            for (int i = 0; i < times.length; i++) {
                LoggingEvent event = new LoggingEvent(getClass().getName(), context.getLogger(loggers[i]), levels[i],
                        "message {} of {}", i % 2 == 0 ? null : thrown, new Object[] {i, "many"});
                event.setTimeStamp(times[i]);
                event.setThreadName(i == 3 ? "vert.x-eventloop-thread-0" : "main");
                assertThat(layout.doLayout(event)).as("event %d in %s", i, zone).isEqualTo(reference.doLayout(event));
            }
            context.stop();
        }
    }

    @Test
    void rootLevelComesFromTheSystemPropertyAndFallsBackToInfo() {
        System.setProperty(LogConfigurator.LEVEL_PROPERTY, "debug");
        LoggerContext context = new LoggerContext();
        LogConfigurator.apply(context);
        assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getLevel()).isEqualTo(Level.DEBUG);
        context.stop();

        System.setProperty(LogConfigurator.LEVEL_PROPERTY, "no-such-level");
        LoggerContext other = new LoggerContext();
        LogConfigurator.apply(other);
        assertThat(other.getLogger(Logger.ROOT_LOGGER_NAME).getLevel()).isEqualTo(Level.INFO);
        other.stop();
    }

    @Test
    void stepsAsideForAConfigurationFileProperty() throws Exception {
        try (URLClassLoader bare = new URLClassLoader(new URL[0], null)) {
            assertThat(LogConfigurator.userConfigured(bare)).isFalse();
            System.setProperty("logback.configurationFile", "/etc/runnel/logback.xml");
            assertThat(LogConfigurator.userConfigured(bare)).isTrue();
        }
    }

    @Test
    void stepsAsideForALogbackXmlOnTheClassPath(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("logback.xml"), "<configuration/>");
        try (URLClassLoader withXml = new URLClassLoader(new URL[] {dir.toUri().toURL()}, null)) {
            assertThat(LogConfigurator.userConfigured(withXml)).isTrue();
        }
    }
}
