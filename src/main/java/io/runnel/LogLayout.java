package io.runnel;

import java.time.Instant;
import java.time.ZoneId;
import java.time.zone.ZoneRules;

import ch.qos.logback.classic.pattern.TargetLengthBasedClassNameAbbreviator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;

/**
 * The built-in console line, {@link LogConfigurator#PATTERN} written out by hand:
 * {@code HH:mm:ss.SSS LEVEL [thread] abbreviated.logger - message}, then the stack trace of an attached
 * exception, as logback's {@code PatternLayout} prints that pattern.
 *
 * <p>Why by hand: {@code PatternLayout}'s class initialisation registers some sixty converters through method
 * references and its start parses the pattern into a converter chain; on an empty node started with
 * {@code java -jar} (no class-data archive) that was about 16 of the 130 CPU samples the main thread took
 * before it could start the metadata quorum, all of it on the start-up's critical path.
 *
 * <p>Thread-safe: logback encodes events outside the appender's lock, so the per-second time prefix is one
 * immutable value swapped as a whole.
 */
final class LogLayout extends LayoutBase<ILoggingEvent> {

    private static final int LEVEL_WIDTH = 5;

    private final TargetLengthBasedClassNameAbbreviator abbreviator;
    private final ZoneRules zone;
    private volatile Second second = new Second(Long.MIN_VALUE, "");

    /** {@code HH:mm:ss.} of one second since the epoch. */
    private record Second(long epochSecond, String prefix) {
    }

    LogLayout(int loggerNameLength, ZoneId zone) {
        this.abbreviator = new TargetLengthBasedClassNameAbbreviator(loggerNameLength);
        this.zone = zone.getRules();
    }

    @Override
    public String doLayout(ILoggingEvent event) {
        StringBuilder out = new StringBuilder(128);
        appendTime(out, event.getTimeStamp());
        out.append(' ');
        String level = event.getLevel().toString();
        out.append(level);
        for (int i = level.length(); i < LEVEL_WIDTH; i++) {
            out.append(' ');
        }
        out.append(" [").append(event.getThreadName()).append("] ")
                .append(abbreviator.abbreviate(event.getLoggerName()))
                .append(" - ").append(event.getFormattedMessage()).append(CoreConstants.LINE_SEPARATOR);
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null) {
            out.append(ThrowableProxyUtil.asString(thrown));
        }
        return out.toString();
    }

    private void appendTime(StringBuilder out, long epochMillis) {
        long epochSecond = Math.floorDiv(epochMillis, 1000L);
        Second s = second;
        if (s.epochSecond() != epochSecond) {
            s = new Second(epochSecond, prefix(epochSecond));
            second = s;
        }
        out.append(s.prefix());
        int millis = (int) Math.floorMod(epochMillis, 1000L);
        if (millis < 100) {
            out.append('0');
        }
        if (millis < 10) {
            out.append('0');
        }
        out.append(millis);
    }

    private String prefix(long epochSecond) {
        long local = epochSecond + zone.getOffset(Instant.ofEpochSecond(epochSecond)).getTotalSeconds();
        int ofDay = (int) Math.floorMod(local, 86_400L);
        StringBuilder b = new StringBuilder(9);
        twoDigits(b, ofDay / 3600);
        b.append(':');
        twoDigits(b, ofDay / 60 % 60);
        b.append(':');
        twoDigits(b, ofDay % 60);
        return b.append('.').toString();
    }

    private static void twoDigits(StringBuilder b, int n) {
        if (n < 10) {
            b.append('0');
        }
        b.append(n);
    }
}
