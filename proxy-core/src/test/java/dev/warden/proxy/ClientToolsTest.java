package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** psql and pgbench, the real PostgreSQL 15 client tools, as subprocesses through Warden over TLS. */
class ClientToolsTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start();
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void psqlRunsAScriptWithAnErrorCopyAndATransaction() throws Exception {
        Path csv = Files.createTempFile("warden-psql-", ".csv");
        Files.writeString(csv, "1,alpha\n2,beta\n3,gamma\n");
        String script = """
                CREATE TABLE notes (id int primary key, body text);
                \\copy notes FROM '%s' WITH (FORMAT csv)
                BEGIN;
                UPDATE notes SET body = 'changed' WHERE id = 1;
                SELECT 1/0;
                ROLLBACK;
                SELECT string_agg(id || '=' || body, ',' ORDER BY id) FROM notes;
                \\copy (SELECT id FROM notes ORDER BY id) TO STDOUT
                SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();
                SHOW application_name;
                DROP TABLE notes;
                """.formatted(csv);
        Result r = run(List.of("psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=0", "-f", "-"), script,
                "psql");
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("division by zero"), r.output);
        assertTrue(r.output.contains("1=alpha,2=beta,3=gamma"), "the rolled back update must not show: " + r.output);
        assertTrue(r.output.contains("1\n2\n3\n"), r.output);
        assertTrue(r.output.contains("ssl-test-app"), r.output);
    }

    @Test
    void pgbenchInitTpcbAndSelectOnlyInSimpleExtendedAndPreparedModes() throws Exception {
        Result init = run(List.of("pgbench", "-i", "-s", "1", "-q"), null, "pgbench");
        assertEquals(0, init.exit, init.output);
        for (List<String> mode : List.of(
                List.of("-M", "simple"), List.of("-M", "extended"), List.of("-M", "prepared"),
                List.of("-S", "-M", "simple"), List.of("-S", "-M", "prepared"))) {
            List<String> cmd = new ArrayList<>(List.of("pgbench", "-n", "-c", "4", "-j", "2", "-t", "200"));
            cmd.addAll(mode);
            Result r = run(cmd, null, "pgbench");
            assertEquals(0, r.exit, mode + ": " + r.output);
            assertTrue(r.output.contains("number of failed transactions: 0"), mode + ": " + r.output);
            assertTrue(r.output.contains("number of transactions actually processed: 800/800"), mode + ": " + r.output);
        }
    }

    /**
     * psycopg 3 from Debian ({@code apt-get install python3-psycopg}, for /usr/bin/python3); skipped where it is
     * not installed.
     */
    @Test
    void psycopgPipelineModeWithFiftyInFlightAndAnErrorThatRecovers() throws Exception {
        String python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
        org.junit.jupiter.api.Assumptions.assumeTrue(new ProcessBuilder(python, "-c", "import psycopg")
                .start().waitFor() == 0, "python3-psycopg is not installed");
        try (java.sql.Connection c = warden.direct(); java.sql.Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS pipeline_people");
            s.execute("CREATE TABLE pipeline_people (id int primary key, email text)");
            s.execute("INSERT INTO pipeline_people SELECT i, 'user' || i || '@example.com' FROM generate_series(1, 50) i");
        }
        Path script = clientScript("psycopg_pipeline.py");
        Result r = run(List.of(python, script.toString()), null, "psycopg");
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("rows 50 ids 1,2,3"), r.output);
        assertTrue(r.output.contains("clear emails 0"), "every email masked: " + r.output);
        assertTrue(r.output.contains("error division_by_zero"), r.output);
        assertTrue(r.output.contains("after error 7 masked"), r.output);
    }

    /**
     * node-postgres, when {@code -Dwarden.test.nodeModules=DIR} names a directory where {@code npm install pg}
     * was run (CI has no registry access, so it is skipped by default):
     * {@code mkdir -p /tmp/pg-node && (cd /tmp/pg-node && npm install pg@8) &&
     * mvn -o -pl proxy-core -am verify -Dtest=ClientToolsTest -Dwarden.test.nodeModules=/tmp/pg-node/node_modules}.
     */
    @Test
    void nodePostgresQueriesPreparedStatementsAndATempTable() throws Exception {
        // .ci/run installs pg into a scratch directory and names it in WARDEN_NODE_MODULES.
        String modules = System.getProperty("warden.test.nodeModules",
                System.getenv().getOrDefault("WARDEN_NODE_MODULES", ""));
        org.junit.jupiter.api.Assumptions.assumeTrue(!modules.isEmpty() && Files.isDirectory(Path.of(modules, "pg")),
                "-Dwarden.test.nodeModules not set");
        Path script = clientScript("node_postgres.js");
        ProcessBuilder pb = new ProcessBuilder("node", script.toString(), Integer.toString(warden.port()),
                WardenHarness.USER).redirectErrorStream(true);
        pb.environment().put("NODE_PATH", modules);
        Result r = exec(pb, null, "node-postgres");
        String out = r.output;
        assertEquals(0, r.exit, out);
        assertTrue(out.contains("ids 1,2,3,4,5"), out);
        assertTrue(out.contains("email masked again masked"), out);
        assertTrue(out.contains("error 22012"), out);
        assertTrue(out.contains("after error 1"), out);
    }

    /** A client script from the test resources ({@code clients/}), copied to a file an interpreter can run. */
    private static Path clientScript(String name) throws IOException {
        Path script = Files.createTempFile("client-", "-" + name);
        try (var in = ClientToolsTest.class.getResourceAsStream("/clients/" + name)) {
            Files.copy(in, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return script;
    }

    record Result(int exit, String output) {
    }

    /** Runs a libpq tool against Warden's {@code dev} environment with the token in PGPASSWORD. */
    private static Result run(List<String> command, String stdin, String app) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(command);
        full.add("host=127.0.0.1 port=" + warden.port() + " dbname=dev user=" + WardenHarness.USER
                + " sslmode=require application_name=ssl-test-app");
        return exec(new ProcessBuilder(full).redirectErrorStream(true), stdin, app);
    }

    /** Runs a client with the token in PGPASSWORD; its output and exit code. */
    private static Result exec(ProcessBuilder pb, String stdin, String app) throws IOException, InterruptedException {
        pb.environment().put("PGPASSWORD", warden.token());
        pb.environment().remove("PGSERVICEFILE");
        Process p = pb.start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(app + " did not finish: " + out);
        }
        return new Result(p.exitValue(), out);
    }
}
