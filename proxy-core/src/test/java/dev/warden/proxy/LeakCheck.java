package dev.warden.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.warden.proxy.server.BufferAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import org.slf4j.LoggerFactory;

/** Netty's leak detector, set to track every buffer while a test's sessions run, and what it reported. */
final class LeakCheck {

    interface Body {
        void run() throws Exception;
    }

    private LeakCheck() {
    }

    /** Runs {@code body}, then collects garbage until the detector reports; the first line of each report. */
    static List<String> leaksOf(Body body) throws Exception {
        Logger detector = (Logger) LoggerFactory.getLogger(ResourceLeakDetector.class);
        ListAppender<ILoggingEvent> leaks = new ListAppender<>();
        leaks.start();
        detector.addAppender(leaks);
        ResourceLeakDetector.Level level = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        try {
            body.run();
            // The detector reports a buffer that was collected unreleased when a later buffer is tracked.
            for (int round = 0; round < 10 && leaks.list.isEmpty(); round++) {
                System.gc();
                Thread.sleep(100);
                for (int i = 0; i < 100; i++) {
                    ByteBuf b = BufferAllocator.forServing().directBuffer(64);
                    b.release();
                }
            }
        } finally {
            ResourceLeakDetector.setLevel(level);
            detector.detachAppender(leaks);
        }
        return leaks.list.stream().map(e -> e.getFormattedMessage().lines().findFirst().orElse("")).toList();
    }
}
