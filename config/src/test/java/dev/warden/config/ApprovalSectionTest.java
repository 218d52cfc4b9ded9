package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.ApprovalSettings.Store;
import dev.warden.config.ApprovalSettings.Webhook;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApprovalSectionTest {

    @TempDir
    Path dir;

    private Policy policy(String section, Map<String, String> env) throws PolicyException {
        return PolicyLoader.parse(MinimalPolicy.TEXT + section, dir, "policy.yaml", env);
    }

    private String failure(String section) {
        return assertThrows(PolicyException.class, () -> policy(section, Map.of())).getMessage();
    }

    @Test
    void withoutAnApprovalsSectionRequestsWaitFifteenMinutesForOneApproverAndLiveInFilesNextToThePolicy()
            throws Exception {
        ApprovalSettings a = policy("", Map.of()).approvals();
        assertEquals(Duration.ofMinutes(15), a.timeout());
        assertEquals(1, a.requiredApprovals());
        assertEquals(new Store.FileStore(dir.toAbsolutePath().resolve("approvals")), a.store());
        assertEquals(List.of(), a.webhooks());
        assertEquals(Duration.ofMinutes(10), a.retryWindow());
    }

    @Test
    void everyApprovalKeyIsRead() throws Exception {
        ApprovalSettings a = policy("""
                approvals:
                  timeout: 2m
                  required_approvals: 2
                  store: { type: file, path: state/approvals }
                  notify:
                    - { webhook: https://hooks.example.com/warden, retries: 5 }
                    - webhook: http://127.0.0.1:8080/hook
                  retry_window: 30s
                """, Map.of()).approvals();
        assertEquals(Duration.ofMinutes(2), a.timeout());
        assertEquals(2, a.requiredApprovals());
        assertEquals(new Store.FileStore(dir.toAbsolutePath().resolve("state/approvals")), a.store());
        assertEquals(List.of(new Webhook(URI.create("https://hooks.example.com/warden"), 5),
                new Webhook(URI.create("http://127.0.0.1:8080/hook"), 3)), a.webhooks());
        assertEquals(Duration.ofSeconds(30), a.retryWindow());
    }

    @Test
    void grantsAreOffUnlessThePolicyBoundsThem() throws Exception {
        ApprovalSettings none = policy("", Map.of()).approvals();
        assertEquals(1, none.maxGrantUses());
        assertEquals(Duration.ZERO, none.maxGrantWindow());
        ApprovalSettings a = policy("""
                approvals:
                  max_grant_uses: 5
                  max_grant_window: 2h
                """, Map.of()).approvals();
        assertEquals(5, a.maxGrantUses());
        assertEquals(Duration.ofHours(2), a.maxGrantWindow());
    }

    @Test
    void eachRequesterMayHaveTwentyRequestsPendingUnlessThePolicySaysOtherwise() throws Exception {
        assertEquals(20, policy("", Map.of()).approvals().maxPendingPerRequester());
        assertEquals(5, policy("approvals:\n  max_pending_per_requester: 5\n", Map.of()).approvals()
                .maxPendingPerRequester());
        String zero = failure("""
                approvals:
                  max_pending_per_requester: 0
                """);
        assertTrue(zero.contains("policy.yaml:14"), zero);
        assertTrue(zero.contains("max_pending_per_requester"), zero);
        String words = failure("""
                approvals:
                  max_pending_per_requester: lots
                """);
        assertTrue(words.contains("policy.yaml:14") && words.contains("'lots' is not a whole number"), words);
    }

    @Test
    void aGrantOfSeveralUsesMustEndSoItNeedsAMaximumWindow() {
        String message = failure("""
                approvals:
                  max_grant_uses: 3
                """);
        assertTrue(message.contains("policy.yaml:14"), message);
        assertTrue(message.contains("max_grant_window"), message);
        String zero = failure("""
                approvals:
                  max_grant_uses: 0
                """);
        assertTrue(zero.contains("policy.yaml:14"), zero);
    }

    @Test
    void aPostgresStoreTakesItsUrlFromTheEnvironmentAndNeverPrintsIt() throws Exception {
        ApprovalSettings a = policy("approvals:\n  store: { type: postgres, url_env: APPROVALS_DB }\n",
                Map.of("APPROVALS_DB", "jdbc:postgresql://db:5432/warden?password=hunter2")).approvals();
        Store.PostgresStore store = (Store.PostgresStore) a.store();
        assertEquals("jdbc:postgresql://db:5432/warden?password=hunter2", store.url().reveal());
        assertEquals("warden_approvals", store.table());
        assertFalse(store.toString().contains("hunter2"));

        String message = assertThrows(PolicyException.class, () -> policy(
                "approvals:\n  store: { type: postgres, url_env: APPROVALS_DB }\n",
                Map.of("APPROVALS_DB", "postgres://secret@db/x"))).getMessage();
        assertEquals("policy.yaml:14:37: approvals.store.url_env: the URL must start with jdbc:postgresql://", message);
        assertFalse(message.contains("secret"));
    }

    @Test
    void mistakesInTheApprovalsSectionAreReportedWithTheirLocation() {
        assertEquals("policy.yaml:14:12: approvals.timeout: must be greater than 0",
                failure("approvals:\n  timeout: 0\n"));
        assertEquals("policy.yaml:14:23: approvals.required_approvals: must be between 1 and 10",
                failure("approvals:\n  required_approvals: 0\n"));
        assertEquals("policy.yaml:14:18: approvals.store.type: unknown store type 'fiel' (did you mean 'file'?)",
                failure("approvals:\n  store: { type: fiel }\n"));
        assertEquals("policy.yaml:14:10: approvals.store: give url_env or url_file (a jdbc:postgresql:// URL; it may "
                        + "hold a password, so it is never written inline)",
                failure("approvals:\n  store: { type: postgres }\n"));
        assertEquals("policy.yaml:14:37: approvals.store.url_env: environment variable NOPE is not set",
                failure("approvals:\n  store: { type: postgres, url_env: NOPE }\n"));
        assertEquals("policy.yaml:15:16: approvals.notify[0].webhook: the webhook at host 'hooks.example.com' must "
                + "use https (plain http is only accepted for a loopback IP such as 127.0.0.1)",
                failure("approvals:\n  notify:\n    - webhook: http://hooks.example.com/x\n"));
        assertTrue(failure("approvals:\n  timout: 5m\n").contains("unknown key 'timout' (did you mean 'timeout'?)"));
    }

    @Test
    void webhooksNeverPointAtMetadataOrLinkLocalAddressesAndPlainHttpOnlyAtALoopbackIp() {
        assertTrue(failure("approvals:\n  notify:\n    - webhook: https://169.254.169.254/latest\n")
                .contains("link-local"));
        assertTrue(failure("approvals:\n  notify:\n    - webhook: \"https://[fe80::1]/x\"\n").contains("link-local"));
        assertTrue(failure("approvals:\n  notify:\n    - webhook: https://metadata.google.internal/x\n")
                .contains("metadata"));
        assertTrue(failure("approvals:\n  notify:\n    - webhook: http://127.attacker.example/x\n")
                .contains("must use https"));
        assertTrue(failure("approvals:\n  notify:\n    - webhook: http://localhost:8080/x\n")
                .contains("must use https"));
        String secretPath = failure("approvals:\n  notify:\n    - webhook: http://hooks.example.com/T0/B0/s3cr3t\n");
        assertFalse(secretPath.contains("s3cr3t"), secretPath);
    }

    @Test
    void agentsMayApproveOnlyWhenThePolicySaysSo() throws Exception {
        assertFalse(policy("", Map.of()).approvals().agentsMayApprove());
        assertTrue(policy("approvals: { agents_may_approve: true }\n", Map.of()).approvals().agentsMayApprove());
    }

    @Test
    void withoutAnAdminSectionTheAdminApiIsOff() throws Exception {
        assertFalse(policy("", Map.of()).admin().enabled());
    }

    @Test
    void theAdminAddressIsHostAndPort() throws Exception {
        assertEquals(Optional.of(new AdminSettings.Address("127.0.0.1", 9090)),
                policy("admin: { address: 127.0.0.1:9090 }\n", Map.of()).admin().address());
        assertEquals(Optional.of(new AdminSettings.Address("::1", 0)),
                policy("admin:\n  address: \"[::1]:0\"\n", Map.of()).admin().address());
        assertEquals("policy.yaml:13:19: admin.address: '9090' is not host:port (e.g. 127.0.0.1:9090 or [::1]:9090)",
                failure("admin: { address: 9090 }\n"));
        assertEquals("policy.yaml:13:10: admin.adress: unknown key 'adress' (did you mean 'address'?)",
                failure("admin: { adress: 127.0.0.1:9090 }\n"));
    }
}
