package dev.warden.proxy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Warden runs one event loop per core unless told otherwise (issue 16: more loops only add wake-ups). */
class EventLoopCountTest {

    @Test
    void oneLoopPerCoreByDefaultAndTheNettySettingStillCounts() {
        String before = System.getProperty("io.netty.eventLoopThreads");
        try {
            System.clearProperty("io.netty.eventLoopThreads");
            assertEquals(Runtime.getRuntime().availableProcessors(), WardenServer.eventLoops());
            System.setProperty("io.netty.eventLoopThreads", "3");
            assertEquals(3, WardenServer.eventLoops());
            System.setProperty("io.netty.eventLoopThreads", "0");
            assertEquals(Runtime.getRuntime().availableProcessors(), WardenServer.eventLoops());
        } finally {
            if (before == null) {
                System.clearProperty("io.netty.eventLoopThreads");
            } else {
                System.setProperty("io.netty.eventLoopThreads", before);
            }
        }
    }
}
