package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code budgets:}: defaults, every key, and errors that point at the line. */
class BudgetSectionTest {

    @TempDir
    Path dir;

    private Policy policy(String section) throws PolicyException {
        return PolicyLoader.parse(MinimalPolicy.TEXT + section, dir, "policy.yaml", Map.of());
    }

    private String failure(String section) {
        return assertThrows(PolicyException.class, () -> policy(section)).getMessage();
    }

    @Test
    void withoutABudgetsSectionTheDocumentedDefaultsApply() throws Exception {
        Budgets b = policy("").budgets();
        assertEquals(Budgets.defaults(), b);
        assertEquals(16 * 1024, b.preLoginMessageBytes());
        assertEquals(250, b.preLoginConnections(1000), "a quarter of max_connections");
        assertEquals(62, b.preLoginPerAddress(1000), "a quarter of the pool");
        assertEquals(64, b.preLoginConnections(10), "at least 64");
        assertEquals(16, b.preLoginPerAddress(10), "at least 16");
        assertEquals(Duration.ofMillis(200), b.parseTimeout());
        assertEquals(65536, b.maxStatementLength());
        assertEquals(new Budgets.Rate(Duration.ofMillis(500), Duration.ofMillis(150), 32L << 20, 8L << 20),
                b.perSession());
        assertEquals(new Budgets.Rate(Duration.ofSeconds(1), Duration.ofMillis(250), 64L << 20, 16L << 20),
                b.perIdentity());
        assertEquals(java.util.Optional.of(new Budgets.AuditRate(512L << 20, 64L << 20)), b.auditPerIdentity());
        assertEquals(OptionalInt.of(64), b.sessionsPerIdentity());
        assertEquals(java.util.OptionalLong.of(32L << 20), b.keptPerSession());
        assertEquals(java.util.OptionalLong.of(512L << 20), b.keptPerIdentity());
    }

    @Test
    void whatOneSessionHasWardenKeepIsBoundedAndTheBoundCanBeTurnedOff() throws Exception {
        assertEquals(java.util.OptionalLong.of(4L << 20), policy("""
                budgets:
                  sessions:
                    kept_bytes: 4194304
                """).budgets().keptPerSession());
        assertEquals(java.util.OptionalLong.empty(), policy("""
                budgets:
                  sessions: { per_identity: 5, kept_bytes: off }
                """).budgets().keptPerSession());
        assertEquals("policy.yaml:15:17: budgets.sessions.kept_bytes: must be a number of bytes from 1048576 to "
                + "2147483647, or off", failure("""
                        budgets:
                          sessions:
                            kept_bytes: 1000
                        """));
    }

    @Test
    void whatTheSessionsOfOneIdentityKeepTogetherIsBounded() throws Exception {
        assertEquals(java.util.OptionalLong.of(Budgets.DEFAULT_KEPT_PER_IDENTITY), policy("""
                budgets:
                  sessions: { per_identity: 5 }
                """).budgets().keptPerIdentity());
        assertEquals(java.util.OptionalLong.of(8L << 20), policy("""
                budgets:
                  sessions: { kept_bytes: 4194304, kept_bytes_per_identity: 8388608 }
                """).budgets().keptPerIdentity());
        assertEquals(java.util.OptionalLong.empty(), policy("""
                budgets:
                  sessions: { kept_bytes_per_identity: off }
                """).budgets().keptPerIdentity());
        assertEquals("policy.yaml:16:30: budgets.sessions.kept_bytes_per_identity: kept_bytes_per_identity (2097152) "
                + "cannot be below kept_bytes (4194304): one session of the identity could not use its own budget",
                failure("""
                        budgets:
                          sessions:
                            kept_bytes: 4194304
                            kept_bytes_per_identity: 2097152
                        """));
    }

    @Test
    void theSessionsOfOneIdentityAreBoundedAndTheBoundCanBeTurnedOff() throws Exception {
        assertEquals(OptionalInt.of(3), policy("""
                budgets:
                  sessions:
                    per_identity: 3
                """).budgets().sessionsPerIdentity());
        assertEquals(OptionalInt.empty(), policy("""
                budgets:
                  sessions:
                    per_identity: off
                """).budgets().sessionsPerIdentity());
        assertEquals("policy.yaml:15:19: budgets.sessions.per_identity: must be a number of sessions from 1 to "
                + "1000000, or off", failure("""
                        budgets:
                          sessions:
                            per_identity: 0
                        """));
        String typo = failure("""
                budgets:
                  sessions: { per_identiy: 3 }
                """);
        assertTrue(typo.startsWith("policy.yaml:14:") && typo.contains("per_identity"), typo);
    }

    @Test
    void theAuditBudgetIsReadAndCanBeTurnedOff() throws Exception {
        assertEquals(java.util.Optional.of(new Budgets.AuditRate(1 << 20, 65536)), policy("""
                budgets:
                  audit:
                    per_identity: { bytes_burst: 1048576, bytes_per_second: 65536 }
                """).budgets().auditPerIdentity());
        assertEquals(java.util.Optional.of(new Budgets.AuditRate(1 << 20, 64L << 20)), policy("""
                budgets:
                  audit:
                    per_identity: { bytes_burst: 1048576 }
                """).budgets().auditPerIdentity(), "a key left out keeps its default");
        assertEquals(java.util.Optional.empty(), policy("""
                budgets:
                  audit:
                    per_identity: off
                """).budgets().auditPerIdentity());
    }

    @Test
    void brokenAuditBudgetsAreRefusedWithTheirLine() {
        assertEquals("policy.yaml:15:19: budgets.audit.per_identity: must be { bytes_burst, bytes_per_second } or off",
                failure("""
                        budgets:
                          audit:
                            per_identity: none
                        """));
        assertEquals("policy.yaml:15:34: budgets.audit.per_identity.bytes_burst: must be between 65536 and 2147483647",
                failure("""
                        budgets:
                          audit:
                            per_identity: { bytes_burst: 1024 }
                        """));
        String typo = failure("""
                budgets:
                  audit:
                    per_identity: { bytes_per_secnd: 4096 }
                """);
        assertTrue(typo.startsWith("policy.yaml:15:") && typo.contains("bytes_per_second"), typo);
        String section = failure("""
                budgets:
                  audits: { per_identity: off }
                """);
        assertTrue(section.startsWith("policy.yaml:14:") && section.contains("audit"), section);
    }

    @Test
    void everyBudgetKeyIsRead() throws Exception {
        Budgets b = policy("""
                budgets:
                  pre_login: { max_message_bytes: 8192, connections: 100, per_address: 10 }
                  analysis:
                    parse_timeout: 50ms
                    max_statement_length: 4096
                    per_session: { cpu_burst: 100ms, cpu_per_second: 20ms, bytes_burst: 65536, bytes_per_second: 4096 }
                    per_identity: { cpu_burst: 300ms, cpu_per_second: 60ms }
                """).budgets();
        assertEquals(8192, b.preLoginMessageBytes());
        assertEquals(OptionalInt.of(100), b.preLoginConnections());
        assertEquals(10, b.preLoginPerAddress(1000));
        assertEquals(Duration.ofMillis(50), b.parseTimeout());
        assertEquals(4096, b.maxStatementLength());
        assertEquals(new Budgets.Rate(Duration.ofMillis(100), Duration.ofMillis(20), 65536, 4096), b.perSession());
        assertEquals(new Budgets.Rate(Duration.ofMillis(300), Duration.ofMillis(60), 64L << 20, 16L << 20),
                b.perIdentity(), "keys left out keep their defaults");
    }

    @Test
    void brokenValuesAreRefusedWithTheirLine() {
        assertEquals("policy.yaml:14:35: budgets.pre_login.max_message_bytes: must be between 1024 and 1048576",
                failure("""
                        budgets:
                          pre_login: { max_message_bytes: 67108864 }
                        """));
        assertEquals("policy.yaml:15:20: budgets.analysis.parse_timeout: must be greater than 0", failure("""
                budgets:
                  analysis:
                    parse_timeout: 0
                """));
        assertTrue(failure("""
                budgets:
                  analysis:
                    parse_timeout: 1h
                """).startsWith("policy.yaml:15:20: budgets.analysis.parse_timeout: must be at most 10s"));
        assertTrue(failure("""
                budgets:
                  pre_login: { connections: 10, per_address: 20 }
                """).startsWith("policy.yaml:14:"), "per_address beyond the pool");
        assertTrue(failure("""
                budgets:
                  pre_login: { connections: 10, per_address: 20 }
                """).contains("per_address (20) cannot exceed connections (10)"));
        assertTrue(failure("""
                budgets:
                  analysis:
                    per_identity: { cpu_per_second: 2s }
                """).startsWith("policy.yaml:15:"), "more than one thread's second");
        String typo = failure("""
                budgets:
                  pre_login: { max_mesage_bytes: 4096 }
                """);
        assertTrue(typo.startsWith("policy.yaml:14:") && typo.contains("max_message_bytes"), typo);
    }
}
