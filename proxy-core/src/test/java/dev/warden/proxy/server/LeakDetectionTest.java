package dev.warden.proxy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LeakDetectionTest {

    private ResourceLeakDetector.Level before;
    private String property;

    @BeforeEach
    void remember() {
        before = ResourceLeakDetector.getLevel();
        property = System.getProperty(LeakDetection.PROPERTY);
    }

    @AfterEach
    void restore() {
        ResourceLeakDetector.setLevel(before);
        if (property == null) {
            System.clearProperty(LeakDetection.PROPERTY);
        } else {
            System.setProperty(LeakDetection.PROPERTY, property);
        }
    }

    @Test
    void aServedWardenRunsWithoutTheDetectorUnlessALevelIsAskedFor() {
        System.clearProperty(LeakDetection.PROPERTY);
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.SIMPLE);
        assertEquals(ResourceLeakDetector.Level.DISABLED, LeakDetection.forServing());

        System.setProperty(LeakDetection.PROPERTY, "paranoid");
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        assertEquals(ResourceLeakDetector.Level.PARANOID, LeakDetection.forServing());
    }
}
