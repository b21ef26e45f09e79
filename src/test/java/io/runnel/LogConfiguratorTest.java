package io.runnel;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
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
        assertThat(((PatternLayoutEncoder) console.getEncoder()).getPattern()).isEqualTo(LogConfigurator.PATTERN);
        context.stop();
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
