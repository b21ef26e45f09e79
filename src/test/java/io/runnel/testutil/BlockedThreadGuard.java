package io.runnel.testutil;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails any test during which Vert.x reported a blocked event loop. Registered for every test through
 * JUnit's extension auto-detection; the appender half is wired in logback-test.xml on Vert.x's
 * blocked-thread checker logger.
 */
public final class BlockedThreadGuard extends AppenderBase<ILoggingEvent>
        implements BeforeEachCallback, AfterEachCallback {

    private static final List<String> WARNINGS = new CopyOnWriteArrayList<>();

    @Override
    protected void append(ILoggingEvent event) {
        if (event.getFormattedMessage().contains("has been blocked")) {
            WARNINGS.add(event.getThreadName() + ": " + event.getFormattedMessage());
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        WARNINGS.clear();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (!WARNINGS.isEmpty()) {
            List<String> seen = List.copyOf(WARNINGS);
            WARNINGS.clear();
            throw new AssertionError("Vert.x reported blocked threads during the test: " + seen);
        }
    }
}
