package org.cmm.eventbroker.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.core.AppenderBase;
import org.slf4j.LoggerFactory;

/**
 * Captures everything logged (all loggers, as configured) and everything printed on stderr (where the JVM prints an
 * uncaught exception's stack trace, and libraries that bypass SLF4J print theirs), so a test can prove what never
 * reaches a log. Stderr is still printed as before; each stderr line becomes one captured line prefixed
 * {@value #STDERR}.
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {

    /** The prefix of captured stderr lines. */
    public static final String STDERR = "stderr ";

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private PrintStream originalErr;

    public static LogCapture attach() {
        LogCapture capture = new LogCapture();
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        capture.setContext(context);
        capture.start();
        context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(capture);
        capture.originalErr = System.err;
        System.setErr(new PrintStream(new StderrTee(capture.originalErr, capture.lines), true, StandardCharsets.UTF_8));
        return capture;
    }

    /** Writes through to the real stderr and keeps each complete line. */
    private static final class StderrTee extends OutputStream {
        private final PrintStream through;
        private final List<String> lines;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        StderrTee(PrintStream through, List<String> lines) {
            this.through = through;
            this.lines = lines;
        }

        @Override
        public synchronized void write(int b) {
            through.write(b);
            if (b == '\n') {
                lines.add(STDERR + line.toString(StandardCharsets.UTF_8));
                line.reset();
            } else {
                line.write(b);
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }

        @Override
        public void flush() {
            through.flush();
        }
    }

    @Override
    protected void append(ILoggingEvent event) {
        StringBuilder line = new StringBuilder(event.getLoggerName()).append(' ').append(event.getFormattedMessage());
        for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
            line.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
            if (t.getStackTraceElementProxyArray() != null) {
                for (StackTraceElementProxy element : t.getStackTraceElementProxyArray()) {
                    line.append(' ').append(element.getSTEAsString());
                }
            }
        }
        lines.add(line.toString());
    }

    public List<String> lines() {
        return List.copyOf(lines);
    }

    /** The captured lines that contain any of the given strings. */
    public List<String> linesContaining(List<String> needles) {
        return lines.stream().filter(l -> needles.stream().anyMatch(l::contains)).toList();
    }

    @Override
    public void close() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.detachAppender(this);
        stop();
        if (originalErr != null) {
            System.err.flush();
            System.setErr(originalErr);
        }
    }
}
