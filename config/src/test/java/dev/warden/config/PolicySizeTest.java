package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code warden policy check} on a huge or hostile file: refused early, and time grows with size, not its square. */
class PolicySizeTest {

    @TempDir
    Path dir;

    private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

    private Path policyWithRules(String name, int rules) throws Exception {
        StringBuilder yaml = new StringBuilder("""
                identity:
                  issuers: [ { issuer: "https://login.example.com/", audience: warden } ]
                environments:
                  prod:
                    upstream: { host: db.internal, port: 5432, database: app, user: warden }
                    allow: [ { groups: [eng] } ]
                guardrails:
                  rules:
                """);
        for (int i = 0; i < rules; i++) {
            yaml.append("    - { name: rule-").append(i).append(", environments: [prod], match: { statements: [DELETE], ")
                    .append("tables: [t").append(i).append("] }, action: block, message: \"no deletes on t").append(i)
                    .append("\" }\n");
        }
        Path file = dir.resolve(name);
        Files.writeString(file, yaml);
        return file;
    }

    @Test
    void aTenMegabyteFileIsRefusedBeforeItIsParsed() throws Exception {
        Path file = dir.resolve("huge.yaml");
        Files.write(file, new byte[10 * 1024 * 1024]);
        long start = CPU.getCurrentThreadCpuTime();
        PolicyException e = assertThrows(PolicyException.class, () -> PolicyLoader.load(file));
        long ms = (CPU.getCurrentThreadCpuTime() - start) / 1_000_000;
        assertEquals(file + ": the policy file is 10485760 bytes; the limit is 3145728 bytes", e.getMessage());
        assertTrue(ms < 500, ms + " ms of CPU to refuse it");
    }

    @Test
    void loadingTimeGrowsLinearlyWithTheNumberOfRules() throws Exception {
        Path small = policyWithRules("small.yaml", 1_000);
        Path large = policyWithRules("large.yaml", 4_000);
        PolicyLoader.load(small);
        PolicyLoader.load(large);
        long smallCpu = cpuToLoad(small);
        long largeCpu = cpuToLoad(large);
        // Four times the rules: linear is about 4x; quadratic would be about 16x.
        assertTrue(largeCpu < 9 * Math.max(smallCpu, 1_000_000), "1k rules: " + smallCpu / 1_000_000 + " ms, 12k rules: "
                + largeCpu / 1_000_000 + " ms");
    }

    private static long cpuToLoad(Path file) throws Exception {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 2; i++) {
            long start = CPU.getCurrentThreadCpuTime();
            PolicyLoader.load(file);
            best = Math.min(best, CPU.getCurrentThreadCpuTime() - start);
        }
        return best;
    }
}
