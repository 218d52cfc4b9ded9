package dev.warden.proxy.server;

import io.netty.util.ResourceLeakDetector;

/**
 * Netty's buffer leak detector as a deployed Warden runs it. At its default level it tracks one buffer in 128
 * and records a stack trace for each, and again at each release: under pgbench -S -c16 that was about 300 stack
 * traces a second on the event loops ({@code Throwable.fillInStackTrace} among the top native frames). A served
 * Warden turns it off unless {@code -Dio.netty.leakDetection.level} asks for a level; the tests keep Netty's
 * default (pg-protocol's run paranoid).
 */
public final class LeakDetection {

    static final String PROPERTY = "io.netty.leakDetection.level";

    private LeakDetection() {
    }

    /** Off, unless the operator set a level (then Netty already applied it). */
    public static ResourceLeakDetector.Level forServing() {
        if (System.getProperty(PROPERTY) == null && System.getProperty("io.netty.leakDetectionLevel") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
        return ResourceLeakDetector.getLevel();
    }
}
