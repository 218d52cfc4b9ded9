package dev.warden.proxy.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.AdminSettings;
import dev.warden.config.Listen;
import dev.warden.proxy.CliRun;
import dev.warden.proxy.approvals.ApprovalRequest;
import dev.warden.proxy.server.ServerTls;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code warden approvals} against the real admin listener bound beyond loopback, so over TLS, with a
 * self-signed certificate: trusted with {@code --admin-ca} (or {@code WARDEN_ADMIN_CA}), refused without it.
 */
class ApprovalsCliOverTlsTest {

    @TempDir
    Path dir;

    private AdminFixture f;
    private AdminServer tlsAdmin;
    private Path cert;
    private Path otherCert;

    @BeforeEach
    void start() throws Exception {
        f = new AdminFixture(dir.resolve("store"), 1);
        cert = dir.resolve("admin.crt");
        selfSigned(cert, dir.resolve("admin.key"));
        otherCert = dir.resolve("other.crt");
        selfSigned(otherCert, dir.resolve("other.key"));
        Listen listen = new Listen("0.0.0.0", 0, Optional.of(cert), Optional.of(dir.resolve("admin.key")), false,
                10, Duration.ofSeconds(5), Duration.ZERO, Duration.ZERO, 1 << 20, false, Duration.ZERO);
        tlsAdmin = AdminServer.start(new AdminSettings.Address("0.0.0.0", 0), f.approvals, () -> f.tokens,
                Optional.of(ServerTls.create(listen)), Duration.ofSeconds(5));
    }

    @AfterEach
    void stop() {
        if (tlsAdmin != null) {
            tlsAdmin.close();
        }
        f.close();
    }

    /** A self-signed EC certificate for 127.0.0.1 and localhost, made by openssl as an operator would. */
    private static void selfSigned(Path certFile, Path keyFile) throws Exception {
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=warden-admin",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", keyFile.toString(), "-out", certFile.toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, output);
    }

    private static CliRun warden(String... args) {
        return CliRun.of(args);
    }

    private String url() {
        return "https://127.0.0.1:" + tlsAdmin.port();
    }

    @Test
    void theCliTrustsASelfSignedAdminCertificateGivenWithAdminCa() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        java.util.concurrent.CompletableFuture<dev.warden.proxy.approvals.Outcome> held = f.approvals.request(request);
        String bob = f.token("bob", "dba");

        CliRun listed = warden("approvals", "list", "--url", url(), "--token", bob, "--admin-ca", cert.toString());
        assertEquals(0, listed.exitCode(), listed.err());
        assertTrue(listed.out().contains(request.id() + " pending"), listed.out());

        CliRun approved = warden("approvals", "approve", request.id(), "--url", url(), "--token", bob,
                "--admin-ca", cert.toString());
        assertEquals(0, approved.exitCode(), approved.err());
        assertTrue(held.get(5, TimeUnit.SECONDS) instanceof dev.warden.proxy.approvals.Outcome.Approved);
    }

    @Test
    void withoutTheCertificateOrWithAnotherOneTheCliRefusesToTalk() {
        String bob = f.token("bob", "dba");

        CliRun untrusted = warden("approvals", "list", "--url", url(), "--token", bob);
        assertEquals(3, untrusted.exitCode(), untrusted.out());
        assertTrue(untrusted.err().contains("not trusted") && untrusted.err().contains("--admin-ca"),
                untrusted.err());

        CliRun wrong = warden("approvals", "list", "--url", url(), "--token", bob, "--admin-ca", otherCert.toString());
        assertEquals(3, wrong.exitCode(), wrong.out());
        assertTrue(wrong.err().contains("not trusted"), wrong.err());

        CliRun missing = warden("approvals", "list", "--url", url(), "--token", bob, "--admin-ca",
                dir.resolve("absent.crt").toString());
        assertEquals(2, missing.exitCode(), missing.out());
        assertTrue(missing.err().contains("cannot read the admin CA file"), missing.err());
    }
}
