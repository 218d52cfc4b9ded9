package dev.warden.proxy;

import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * A real PostgreSQL, a real OIDC issuer and a real Warden in front of them, shared by one test class.
 * The policy has environment {@code dev} (group {@code eng}, SCRAM upstream over TLS) and any extra YAML
 * under {@code environments:} the test class passes in.
 */
public final class WardenHarness implements AutoCloseable {

    public static final String USER = "alice@example.com";

    public final TestPostgres pg;
    public final TestOidcIssuer issuer;
    public final String database;
    private WardenServer server;
    private Policy policy;
    private java.nio.file.Path auditDir;

    private WardenHarness(TestPostgres pg, TestOidcIssuer issuer, String database) {
        this.pg = pg;
        this.issuer = issuer;
        this.database = database;
    }

    public static WardenHarness start() {
        return start("", "");
    }

    /**
     * @param listenExtra   extra YAML lines under {@code listen:} (indented by 2 spaces)
     * @param environments  extra YAML environments (indented by 2 spaces)
     */
    /**
     * The masking tests' Warden: plaintext allowed on loopback, masking at its defaults for everyone but the
     * group {@code pii-readers}, and never for agents.
     */
    public static WardenHarness startMaskingForAllButPiiReaders() {
        return start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  unmasked_for: { groups: [pii-readers], agents: never }
                """);
    }

    /** The first column of {@code sql}'s first row, as text; there must be a row. */
    public static String scalar(java.sql.Connection c, String sql) throws java.sql.SQLException {
        try (java.sql.Statement s = c.createStatement(); java.sql.ResultSet rs = s.executeQuery(sql)) {
            org.junit.jupiter.api.Assertions.assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }

    /**
     * The login settings PostgreSQL holds for {@code role} ({@code pg_db_role_setting}), read directly: their count,
     * then {@code database:setting=value,...} per row ({@code *}: every database).
     */
    public String loginSettings(String role) throws SQLException {
        try (Connection direct = direct()) {
            return scalar(direct, "SELECT count(*) || coalesce(' ' || string_agg(coalesce(d.datname, '*') || ':' "
                    + "|| array_to_string(s.setconfig, ','), ' ' ORDER BY d.datname NULLS FIRST), '') "
                    + "FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase "
                    + "WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = '" + role + "')");
        }
    }

    /** Runs {@code sql}; returns null when it ran, else the SQLSTATE and message of its error. */
    public static String run(java.sql.Connection c, String sql) {
        try (java.sql.Statement s = c.createStatement()) {
            s.execute(sql);
            return null;
        } catch (java.sql.SQLException e) {
            return e.getSQLState() + " " + e.getMessage();
        }
    }

    /** The first column of {@code sql}'s rows, as text. */
    public static java.util.List<String> column(java.sql.Connection c, String sql) throws java.sql.SQLException {
        java.util.List<String> out = new java.util.ArrayList<>();
        try (java.sql.Statement s = c.createStatement(); java.sql.ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /**
     * The YAML of an environment for group eng whose sessions log in upstream as {@code login} (no password, TLS
     * required): for tests whose login holds only the privileges their attack needs.
     */
    public static String environmentAs(String name, boolean production, String login) {
        return "  " + name + ":\n" + (production ? "    production: true\n" : "")
                + "    upstream: { host: 127.0.0.1, port: \"${PG_PORT}\", database: \"${DATABASE}\", user: " + login
                + ", tls: require }\n"
                + "    allow: [ { groups: [eng] } ]\n";
    }

    /**
     * The production environment of the approval tests: the SCRAM login {@code warden_scram} over TLS, groups eng and
     * dba allowed (their rules name dba as approvers).
     */
    public static final String APPROVALS_PROD = """
              prod:
                production: true
                upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                allow: [ { groups: [eng, dba] } ]
            """;

    /** The rule the guardrail attack tests keep: no DELETE or UPDATE of {@code public.gw_ledger} in production. */
    public static final String LEDGER_KEPT = "{ name: gw-ledger-kept, environments: [prod], match: { statements: "
            + "[DELETE, UPDATE], tables: [public.gw_ledger] }, action: block }";

    /**
     * Warden over a new PostgreSQL for a guardrail attack test: environment {@code prod} (production) whose sessions
     * log in as {@code gw_login} (made here: no superuser, no privileges yet), masking off for group eng, and
     * {@link #LEDGER_KEPT}.
     */
    public static WardenHarness startGuardingLedger() throws java.sql.SQLException {
        TestPostgres pg = TestPostgres.start();
        onCluster(pg, "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_login') THEN "
                + "CREATE ROLE gw_login LOGIN; END IF; END$$");
        return start(pg, "  allow_plaintext_on_loopback: true\n", environmentAs("prod", true, "gw_login"),
                unmaskedWithRules(LEDGER_KEPT));
    }

    /** Runs each statement on {@code pg}'s {@code postgres} database, as its superuser: roles, before Warden starts. */
    public static void onCluster(TestPostgres pg, String... sqls) throws java.sql.SQLException {
        try (java.sql.Connection c = pg.connect("postgres"); java.sql.Statement s = c.createStatement()) {
            for (String sql : sqls) {
                s.execute(sql);
            }
        }
    }

    /**
     * {@link #startGuardingLedger} on a server that allows prepared transactions, with {@link #makeLedger} done: the
     * open-DDL races' harness (AttackPass20GuardrailOpenDdlTest, AttackPass21Test).
     */
    public static WardenHarness startGuardingLedgerWithPreparedTransactions() throws java.sql.SQLException {
        TestPostgres pg = TestPostgres.startWithPreparedTransactions();
        onCluster(pg, "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_login') THEN "
                + "CREATE ROLE gw_login LOGIN; END IF; END$$");
        WardenHarness w = start(pg, "  allow_plaintext_on_loopback: true\n", environmentAs("prod", true, "gw_login"),
                unmaskedWithRules(LEDGER_KEPT));
        w.makeLedger();
        return w;
    }

    /** A trigger function {@code ap_wipe()} that empties {@code gw_ledger} (rename it per test with replace). */
    public static final String WIPE_LEDGER_TRIGGER = "CREATE FUNCTION ap_wipe() RETURNS trigger LANGUAGE plpgsql AS "
            + "$$BEGIN DELETE FROM public.gw_ledger WHERE id > 0; RETURN NEW; END$$";

    /** A raw client's answer up to ReadyForQuery: each message's type, an error's fields in parentheses. */
    public static String answer(RawClient client) throws java.io.IOException {
        StringBuilder out = new StringBuilder();
        byte[] frame;
        do {
            frame = client.readFrame();
            out.append((char) frame[0]);
            if (frame[0] == 'E') {
                out.append('(').append(new String(frame, 5, frame.length - 5,
                        java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' ')).append(')');
            }
        } while (frame[0] != 'Z');
        return out.toString();
    }

    /**
     * The attack tests' common objects, made directly: {@code gw_ledger (id, total)} that {@code gw_login} may read
     * and write, CREATE in public for it, {@code gw_wipe(id)} (deletes that ledger row) and {@code gw_key(id)} (an
     * immutable SQL function over it).
     */
    public void makeLedger() throws java.sql.SQLException {
        directly("GRANT CREATE ON SCHEMA public TO gw_login", "CREATE TABLE gw_ledger (id int, total int)",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON gw_ledger TO gw_login",
                "CREATE FUNCTION gw_wipe(int) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                        + "DELETE FROM public.gw_ledger WHERE id = $1; RETURN $1; END$$",
                "CREATE FUNCTION gw_key(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT public.gw_wipe($1)'");
    }

    /** Runs each statement straight to the database, as its owner. */
    public void directly(String... sqls) throws java.sql.SQLException {
        try (java.sql.Connection c = direct(); java.sql.Statement s = c.createStatement()) {
            for (String sql : sqls) {
                s.execute(sql);
            }
        }
    }

    /** {@code gw_ledger}'s rows and how many of them are unchanged ({@code total = id}), as "rows/unchanged". */
    public String ledger() throws java.sql.SQLException {
        try (java.sql.Connection c = direct()) {
            return scalar(c, "SELECT count(*) || '/' || count(*) FILTER (WHERE total = id) FROM gw_ledger");
        }
    }

    /** Fills {@code gw_ledger} with three rows, each unchanged ({@code total = id}). */
    public void fillLedger() throws java.sql.SQLException {
        directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
    }

    /**
     * A session in dev, in pgJDBC's simple mode: the harness's superuser login, where no guardrail rule of
     * {@link #startGuardingLedger} and no baseline applies (an administrator's session, for races with production).
     */
    public java.sql.Connection devAdmin() throws java.sql.SQLException {
        return connect("dev", USER, token(), "preferQueryMode=simple&assumeMinServerVersion=12");
    }

    /** Whether the server shows a session of {@code gw_login} waiting on a lock. */
    public boolean gwLoginWaitsOnALock() throws java.sql.SQLException {
        try (java.sql.Connection c = direct()) {
            return scalar(c, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'gw_login' "
                    + "AND wait_event_type = 'Lock'").equals("1");
        }
    }

    /**
     * Runs {@code statement} on another thread (its answer as {@link #run} gives it); returns once it waits on a
     * lock, was answered, or 5 s passed.
     */
    public java.util.concurrent.CompletableFuture<String> waitingOnALock(java.util.function.Supplier<String> statement)
            throws Exception {
        java.util.concurrent.CompletableFuture<String> out =
                java.util.concurrent.CompletableFuture.supplyAsync(statement);
        for (int i = 0; i < 100 && !out.isDone() && !gwLoginWaitsOnALock(); i++) {
            Thread.sleep(50);
        }
        return out;
    }

    /** A session in {@code environment} as {@link #USER}, in pgJDBC's simple mode (each text one Query message). */
    public java.sql.Connection simpleSession(String environment) throws java.sql.SQLException {
        return connect(environment, USER, token(), "preferQueryMode=simple&assumeMinServerVersion=12");
    }

    /** How many large objects the database holds, read directly: what a write Warden let through made. */
    public long largeObjects() throws java.sql.SQLException {
        try (java.sql.Connection c = direct()) {
            return Long.parseLong(scalar(c, "SELECT count(*) FROM pg_largeobject_metadata"));
        }
    }

    /** A session in production as {@code gw_login} ({@link #startGuardingLedger}), in pgJDBC's simple mode. */
    public java.sql.Connection prod() throws java.sql.SQLException {
        return connect("prod", USER, token(), "preferQueryMode=simple&assumeMinServerVersion=12");
    }

    /**
     * Runs {@code setup} directly (after the session logged in: some setups make Warden refuse pgJDBC's own start-up
     * statements), fills gw_ledger with three rows, runs {@code sql} through Warden in production, then runs
     * {@code cleanup} directly when it is not null; returns why it failed the attack's expectation (refused by
     * gw-ledger-kept, gw_ledger intact), or null.
     */
    public String keptAgainst(String setup, String sql, String cleanup) throws java.sql.SQLException {
        String error;
        try (java.sql.Connection c = prod()) {
            if (setup != null) {
                directly(setup);
            }
            // (After the setup: building an index over the rows there computes its function once already.)
            directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
            error = run(c, sql);
        } finally {
            if (cleanup != null) {
                directly(cleanup);
            }
        }
        String l = ledger();
        if (!l.equals("3/3")) {
            return sql + ": PostgreSQL changed gw_ledger (rows/unchanged " + l + "), Warden: "
                    + (error == null ? "let it run" : error);
        }
        if (error == null || !error.startsWith("42501") || !error.contains("gw-ledger-kept")) {
            return sql + ": not refused by gw-ledger-kept: " + error;
        }
        return null;
    }

    /**
     * {@link #keptAgainst} for each (setup, sql) pair, with what {@code cleanup} gives for the setup (null: none);
     * the failures, all of them.
     */
    public java.util.List<String> failuresKeeping(java.util.function.UnaryOperator<String> cleanup,
                                                  String... setupAndSql) throws java.sql.SQLException {
        java.util.List<String> failures = new java.util.ArrayList<>();
        for (int k = 0; k < setupAndSql.length; k += 2) {
            String f = keptAgainst(setupAndSql[k], setupAndSql[k + 1], cleanup.apply(setupAndSql[k]));
            if (f != null) {
                failures.add(f);
            }
        }
        return failures;
    }

    /** Top-level YAML: masking off for group eng, and these guardrail rules (one YAML flow mapping each). */
    public static String unmaskedWithRules(String... rules) {
        StringBuilder out = new StringBuilder("masking:\n  unmasked_for: { groups: [eng] }\nguardrails:\n  rules:\n");
        for (String rule : rules) {
            out.append("    - ").append(rule).append('\n');
        }
        return out.toString();
    }

    public static WardenHarness start(String listenExtra, String environments) {
        return start(listenExtra, environments, "");
    }

    /** @param topLevel extra top-level YAML sections (e.g. {@code audit:} or {@code guardrails:}) */
    public static WardenHarness start(String listenExtra, String environments, String topLevel) {
        return start(TestPostgres.start(), listenExtra, environments, topLevel);
    }

    /** @param pg a server the test started itself (e.g. {@link TestPostgres#startLoggingStatements()}); closed with the harness */
    public static WardenHarness start(TestPostgres pg, String listenExtra, String environments, String topLevel) {
        return start(pg, listenExtra, environments, topLevel, java.util.function.UnaryOperator.identity());
    }

    /**
     * @param readingOverride replaces Warden's analysis of every text: tests of the tripwire make Warden misread
     *     on purpose with it
     */
    public static WardenHarness start(String listenExtra, String environments, String topLevel,
                                      java.util.function.UnaryOperator<dev.warden.sql.Analysis> readingOverride) {
        return start(TestPostgres.start(), listenExtra, environments, topLevel, readingOverride);
    }

    private static WardenHarness start(TestPostgres pg, String listenExtra, String environments, String topLevel,
                                       java.util.function.UnaryOperator<dev.warden.sql.Analysis> readingOverride) {
        TestOidcIssuer issuer = TestOidcIssuer.start();
        WardenHarness h = new WardenHarness(pg, issuer, pg.createDatabase("app"));
        try {
            h.auditDir = java.nio.file.Files.createTempDirectory("warden-audit-");
            h.policy = h.policy(listenExtra, environments, topLevel);
            h.server = WardenServer.start(h.policy, readingOverride);
        } catch (Exception e) {
            h.close();
            throw new IllegalStateException("cannot start Warden: " + e.getMessage(), e);
        }
        return h;
    }

    private Policy policy(String listenExtra, String environments, String topLevel) throws Exception {
        return policy(listenExtra, environments, topLevel, "leaked-token-2");
    }

    private Policy policy(String listenExtra, String environments, String topLevel, String alsoDenied)
            throws Exception {
        String yaml = """
                listen:
                  address: 127.0.0.1:0
                %s
                identity:
                  issuers:
                    - issuer: ${ISSUER}
                      audience: warden
                      agent: { claim: azp, in: [etl-bot] }
                      denied_token_ids: [leaked-token-1, "%s"]
                environments:
                  dev:
                    baseline_guardrails: false
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: %s, user: %s, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                %s
                %s
                """.formatted(listenExtra, alsoDenied.replace("\"", ""), database, TestPostgres.SCRAM_USER, environments,
                withDefaults(topLevel));
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("ISSUER", issuer.issuer());
        env.put("PG_PORT", Integer.toString(pg.port()));
        env.put("UPSTREAM_PASSWORD", TestPostgres.PASSWORD);
        env.put("DATABASE", database);
        env.put("AUDIT_DIR", auditDir.toString());
        env.put("APPROVALS_DIR", java.nio.file.Files.createTempDirectory("warden-approvals-").toString());
        env.put("PG_CERT", String.valueOf(pg.certificate()));
        env.put("NOT_THE_PASSWORD", "not-the-password");
        env.put("ROLE_NAME_KEY", "test-role-name-key-0123456789");
        return PolicyLoader.parse(yaml, Path.of("."), "test-policy.yaml", env);
    }

    /** A policy as {@link #start(String, String, String)} makes it, over this harness's database: for a reload. */
    public Policy policyWith(String listenExtra, String environments, String topLevel) throws Exception {
        return policy(listenExtra, environments, topLevel);
    }

    /** As above, with the token id {@code alsoDenied} revoked ({@code denied_token_ids}) besides leaked-token-1. */
    public Policy policyWith(String listenExtra, String environments, String topLevel, String alsoDenied)
            throws Exception {
        return policy(listenExtra, environments, topLevel, alsoDenied);
    }

    /**
     * Audit and approval state go to temporary directories unless the test configures them (a top-level key: a
     * {@code budgets:} section's {@code audit:} left the trail in the working directory).
     */
    private static String withDefaults(String topLevel) {
        String yaml = topLevel;
        if (!java.util.regex.Pattern.compile("(?m)^audit:").matcher(yaml).find()) {
            yaml += "\naudit:\n  sinks: [ { type: file, dir: \"${AUDIT_DIR}\" } ]\n";
        }
        if (!java.util.regex.Pattern.compile("(?m)^approvals:").matcher(yaml).find()) {
            yaml += "\napprovals:\n  store: { type: file, path: \"${APPROVALS_DIR}\" }\n";
        }
        return yaml;
    }

    public int port() {
        return server.port();
    }

    /** Where this Warden writes its audit trail (a fresh temporary directory unless the test set one). */
    public java.nio.file.Path auditDir() {
        return auditDir;
    }

    public WardenServer server() {
        return server;
    }

    /** The policy this Warden runs, for tests that start a second replica of it. */
    public Policy policy() {
        return policy;
    }

    /** A token for {@link #USER} in group {@code eng}. */
    public String token() {
        return issuer.token().email(USER).groups("eng").sign();
    }

    public String jdbcUrl(String environment, String extra) {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/" + environment + "?sslmode=require"
                + (extra.isEmpty() ? "" : "&" + extra);
    }

    /** A pgJDBC connection through Warden to {@code dev} as {@link #USER}. */
    public Connection connect(String extra) throws SQLException {
        return connect("dev", USER, token(), extra);
    }

    public Connection connect(String environment, String user, String token, String extra) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", token);
        return DriverManager.getConnection(jdbcUrl(environment, extra), props);
    }

    /** A direct connection to the test database, bypassing Warden. */
    public Connection direct() throws SQLException {
        return pg.connect(database);
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
        issuer.close();
        pg.close();
    }

    /** {@link #assertAuditVerifies}, then {@link #close}, whether or not it verified: a test class's end. */
    public void closeAfterVerifyingAudit() throws java.io.IOException {
        try {
            assertAuditVerifies();
        } finally {
            close();
        }
    }

    /** The audit log verifies (chain, signatures), as {@code warden audit verify} would say. */
    public void assertAuditVerifies() throws java.io.IOException {
        dev.warden.audit.verify.VerifyReport report = dev.warden.audit.verify.AuditVerifier.verify(auditDir, null);
        if (!report.passed()) {
            throw new AssertionError(report.summary());
        }
    }

    /** The audit records of {@code user}'s first session, once its {@code session.end} is written (5 s at most). */
    public java.util.List<dev.warden.audit.query.AuditRecord> awaitSessionEnd(String user) throws Exception {
        long deadline = System.currentTimeMillis() + 5000;
        while (true) {
            java.util.List<dev.warden.audit.query.AuditRecord> all = dev.warden.audit.query.AuditReader.of(auditDir)
                    .search(dev.warden.audit.query.AuditFilter.all()).stream()
                    .map(dev.warden.audit.query.AuditReader.Line::record).toList();
            String session = all.stream().filter(r -> r.type().equals("session.start"))
                    .filter(r -> r.get("identity").get("username").asText().equals(user))
                    .map(dev.warden.audit.query.AuditRecord::session).findFirst().orElse(null);
            java.util.List<dev.warden.audit.query.AuditRecord> mine = all.stream()
                    .filter(r -> r.session().equals(session)).toList();
            if (session != null && mine.get(mine.size() - 1).type().equals("session.end")) {
                return mine;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("no session.end for " + user + ": " + describe(mine));
            }
            Thread.sleep(50);
        }
    }

    /** Audit records as text, one per line, for assertion messages. */
    public static String describe(java.util.List<dev.warden.audit.query.AuditRecord> records) {
        return records.stream().map(dev.warden.audit.query.AuditRecord::text)
                .collect(java.util.stream.Collectors.joining("\n"));
    }
}
