package dev.warden.proxy;

import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code warden} command line as a user runs it: a separate JVM, SIGTERM to stop it. */
class ServeProcessTest {

    static TestPostgres pg;
    static TestOidcIssuer issuer;

    @BeforeAll
    static void start() {
        pg = TestPostgres.start();
        issuer = TestOidcIssuer.start();
    }

    @AfterAll
    static void stop() {
        issuer.close();
        pg.close();
    }

    @Test
    void helpListsTheCommands() throws Exception {
        Result r = run(List.of("--help"));
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("serve"), r.output);
        assertTrue(r.output.contains("policy"), r.output);
    }

    @Test
    void policyCheckPrintsFileLineColumnAndExits2(@TempDir Path dir) throws Exception {
        Path policy = dir.resolve("broken.yaml");
        Files.writeString(policy, """
                listen:
                  adress: 0.0.0.0:6432
                identity:
                  issuers: [ { issuer: https://idp.example.com, audience: warden } ]
                environments:
                  prod:
                    upstream: { host: db, database: app, user: warden, allow_superuser: true }
                """);
        Result r = run(List.of("policy", "check", policy.toString()));
        assertEquals(2, r.exit, r.output);
        assertTrue(r.output.contains("broken.yaml:2:3: listen.adress: unknown key 'adress' (did you mean 'address'?)"),
                r.output);
    }

    @Test
    void serveRunsUntilSigtermAndLetsARunningStatementFinish(@TempDir Path dir) throws Exception {
        Path policy = dir.resolve("warden.yaml");
        Files.writeString(policy, """
                listen: { address: "127.0.0.1:0", shutdown_grace: 20s }
                identity:
                  issuers: [ { issuer: "%s", audience: warden } ]
                environments:
                  dev:
                    upstream: { host: 127.0.0.1, port: %d, database: postgres, user: %s, password_env: WARDEN_TEST_UPSTREAM_PASSWORD, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                """.formatted(issuer.issuer(), pg.port(), TestPostgres.SCRAM_USER));
        ProcessBuilder pb = new ProcessBuilder(javaCommand(List.of("serve", "--config", policy.toString())))
                .redirectErrorStream(true);
        pb.environment().put("WARDEN_TEST_UPSTREAM_PASSWORD", TestPostgres.PASSWORD);
        Process process = pb.start();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // process ended
            }
        });
        reader.start();
        try {
            int port = awaitPort(lines);
            Properties props = new Properties();
            props.setProperty("user", "alice@example.com");
            props.setProperty("password", issuer.token().email("alice@example.com").groups("eng").sign());
            Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/dev?sslmode=require", props);
            CompletableFuture<String> running = CompletableFuture.supplyAsync(() -> {
                try (ResultSet rs = c.createStatement().executeQuery("SELECT pg_sleep(2), 'finished'")) {
                    rs.next();
                    return rs.getString(2);
                } catch (Exception e) {
                    return "failed: " + e.getMessage();
                }
            });
            Thread.sleep(500);
            process.destroy(); // SIGTERM
            assertEquals("finished", running.get(15, TimeUnit.SECONDS), "the running statement completes");
            assertTrue(process.waitFor(20, TimeUnit.SECONDS), "warden exits after its sessions are done");
            assertEquals(0, process.exitValue());
            c.close();
        } finally {
            process.destroyForcibly();
        }
    }

    private static int awaitPort(LinkedBlockingQueue<String> lines) throws InterruptedException {
        Pattern listening = Pattern.compile("warden: listening on .*:(\\d+)");
        StringBuilder seen = new StringBuilder();
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            String line = lines.poll(500, TimeUnit.MILLISECONDS);
            if (line != null) {
                seen.append(line).append('\n');
                Matcher m = listening.matcher(line);
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
            }
        }
        throw new AssertionError("warden did not start:\n" + seen);
    }

    record Result(int exit, String output) {
    }

    private static Result run(List<String> args) throws Exception {
        Process p = new ProcessBuilder(javaCommand(args)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Result(p.exitValue(), out);
    }

    private static List<String> javaCommand(List<String> args) {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.warden.proxy.cli.WardenCommand"));
        cmd.addAll(args);
        return cmd;
    }
}
