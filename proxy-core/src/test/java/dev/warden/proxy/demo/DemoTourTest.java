package dev.warden.proxy.demo;

import dev.warden.proxy.CliRun;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tour {@code warden demo} prints, run as printed: each {@code psql} command line in a shell, bob's approvals
 * commands and {@code audit verify} through the CLI in-process. The demo is started twice on one data directory
 * (the second start is the one a returning user waits for) and the tour runs against the second.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DemoTourTest {

    static Path dataDir;
    static Demo demo;
    static String guide;
    static String firstIssuer;

    @BeforeAll
    static void startTwice() throws Exception {
        dataDir = Files.createTempDirectory("warden-demo-");
        Demo.Options options = new Demo.Options(dataDir, 0, 0, false, Optional.empty());
        Duration first;
        try (Demo initial = Demo.start(options)) {
            first = initial.startTime();
            firstIssuer = initial.issuerUrl();
            // Carol logs in on the first start: her role is bound to this issuer (see theIssuerStaysAcrossStarts).
            Psql carol = psqlOf(initial, "carol", "SELECT current_user");
            assertEquals(0, carol.exit, carol.err);
            // A table of bob's own in public: the next start grants the shop's tables, not his (a helper's pass,
            // a118: GRANT ... ON ALL TABLES IN SCHEMA public was refused for it, and the demo did not start again).
            Psql bob = psqlOf(initial, "bob", "CREATE TABLE public.bob_own (id int)");
            assertEquals(0, bob.exit, bob.err);
            assertTrue(initial.firstStart());
            assertEquals(2, initial.seededDatabases());
        }
        demo = Demo.start(options);
        Duration second = demo.startTime();
        System.out.printf("warden demo start: first %.1f s (initdb + seed), second %.1f s%n",
                first.toMillis() / 1000.0, second.toMillis() / 1000.0);
        assertFalse(demo.firstStart());
        assertEquals(0, demo.seededDatabases(), "the second start keeps the data");
        assertTrue(second.compareTo(Duration.ofSeconds(60)) < 0, "second start took " + second);
        guide = DemoGuide.render(demo, "warden", false);
        System.out.println(guide);
    }

    @AfterAll
    static void stop() throws IOException {
        if (demo != null) {
            demo.close();
        }
        try (Stream<Path> files = Files.walk(dataDir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    @Order(0)
    void theSeededCardNumbersPassTheLuhnCheck() throws Exception {
        try (Connection c = demo.database().connect(demo.database().databases().get("prod"));
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT card_number FROM customers")) {
            int rows = 0;
            while (rs.next()) {
                String card = rs.getString(1);
                int sum = 0;
                for (int i = 0; i < card.length(); i++) {
                    int d = card.charAt(card.length() - 1 - i) - '0';
                    sum += i % 2 == 0 ? d : (d * 2 > 9 ? d * 2 - 9 : d * 2);
                }
                assertEquals(0, sum % 10, card);
                rows++;
            }
            assertEquals(ShopSeed.CUSTOMERS, rows);
        }
    }

    @Test
    @Order(0)
    void theSuperuserTakesNoLoginOnceTheDemoStarted() {
        // A helper's pass (a135 F5): pg_hba.conf trusted postgres on loopback TCP for as long as the demo ran, so any
        // local process read every customer in clear and deleted the audit witness's heads, bypassing Warden.
        String url = "jdbc:postgresql://" + demo.database().host() + ":" + demo.database().port()
                + "/postgres?sslmode=disable";
        for (String password : new String[] {"", "postgres", "x"}) {
            java.sql.SQLException refused = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class,
                    () -> java.sql.DriverManager.getConnection(url, "postgres", password).close());
            assertTrue(java.util.Set.of("28P01", "08004").contains(refused.getSQLState()),
                    refused.getSQLState() + " " + refused.getMessage());
        }
    }

    @Test
    @Order(0)
    void theIssuerStaysAcrossStartsSoWhoLoggedInBeforeStillCan() throws Exception {
        // A helper's pass: the issuer took a new port at each start, and carol, whose role the first start made,
        // was refused after the second ("belongs to carol@demo.warden of another issuer").
        assertEquals(firstIssuer, demo.issuerUrl());
        Psql carol = psql("carol", "SELECT current_user");
        assertEquals(0, carol.exit, carol.err);
        assertEquals("wd_carol@demo.warden", carol.out.strip());
    }

    @Test
    @Order(0)
    void theWitnessTableIsNotTheApplicationRolesAfterARestart() throws Exception {
        // A helper's attacker pass: from the second start on, the grants on every table of public covered the audit
        // witness's table, and carol (shop_readwrite) planted heads in it through Warden.
        String staging = command("carol").replaceAll("dbname=\\w+", "dbname=staging");
        Process p = start(staging + " -X -At -c " + quote("SELECT to_regclass('public.warden_audit_witness') IS NOT "
                + "NULL, has_table_privilege('shop_readwrite', 'public.warden_audit_witness', 'INSERT'), "
                + "has_table_privilege('shop_readonly', 'public.warden_audit_witness', 'SELECT'), "
                + "has_table_privilege('shop_admin', 'public.warden_audit_witness', 'INSERT')"));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        String out = readAll(p.getInputStream());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "psql finished");
        assertEquals("t|f|f|f", out.strip(), err.get(5, TimeUnit.SECONDS));
    }

    @Test
    @Order(0)
    void eachPersonRunsAsADatabaseRoleOfTheirOwnAsTheTourShows() throws Exception {
        assertTrue(guide.contains("SELECT current_user;"), guide);
        Psql carol = psql("carol", "SELECT current_user");
        assertEquals(0, carol.exit, carol.err);
        assertEquals("wd_carol@demo.warden", carol.out.strip());
        Psql bot = psql("support-bot", "SELECT pg_has_role(current_user, 'shop_readonly', 'MEMBER'), "
                + "pg_has_role(current_user, 'shop_readwrite', 'MEMBER')");
        assertEquals(0, bot.exit, bot.err);
        assertEquals("t|f", bot.out.strip());
        // Temporary objects only for the roles that may write (a helper's pass, a146 F3: the agent kept TEMP), in
        // both databases.
        for (String db : List.of("prod", "staging")) {
            Psql temp = run(command("carol").replace("dbname=prod", "dbname=" + db), "SELECT "
                    + "has_database_privilege('shop_readonly', current_database(), 'TEMP'), "
                    + "has_database_privilege('shop_readwrite', current_database(), 'TEMP'), "
                    + "has_database_privilege('shop_admin', current_database(), 'TEMP')");
            assertEquals(0, temp.exit, temp.err);
            assertEquals("f|t|t", temp.out.strip(), db);
        }
    }

    @Test
    @Order(0)
    void theAgentsUpdateOnStagingPassesWardenButPostgresRefusesIt() throws Exception {
        // Staging has no agents-read-only rule: the agent's read-only database role is what stops it.
        String before = directScalar("SELECT total FROM orders WHERE id = 2");
        Process p = start(command("support-bot").replace("dbname=prod", "dbname=staging")
                + " -X -At -v VERBOSITY=verbose -c " + quote("UPDATE orders SET total = 0 WHERE id = 2"));
        String err = readAll(p.getErrorStream());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertNotEquals(0, p.exitValue());
        assertTrue(err.contains("42501") && err.contains("permission denied for table orders"), err);
        assertEquals(before, directScalar("SELECT total FROM orders WHERE id = 2"));
    }

    @Test
    @Order(1)
    void aliceSeesMaskedEmailsAndCarolSeesThemInClear() throws Exception {
        String clear = directScalar("SELECT email FROM customers WHERE id = 1");
        Psql alice = psql("alice", "SELECT email FROM customers WHERE id = 1");
        Psql carol = psql("carol", "SELECT email FROM customers WHERE id = 1");
        assertEquals(0, alice.exit, alice.err);
        assertEquals(0, carol.exit, carol.err);
        assertEquals(clear, carol.out.strip());
        assertNotEquals(clear, alice.out.strip());
        assertTrue(alice.out.strip().matches("[a-z]\\*\\*\\*@[a-z.]+"), "masked e-mail: " + alice.out);
    }

    @Test
    @Order(2)
    void theAgentIsMaskedAlthoughItIsAPiiReader() throws Exception {
        Psql bot = psql("support-bot", "SELECT * FROM customers ORDER BY id LIMIT 20");
        assertEquals(0, bot.exit, bot.err);
        assertFalse(bot.out.contains(directScalar("SELECT email FROM customers WHERE id = 1")), bot.out);
        assertFalse(bot.out.contains(directScalar("SELECT card_number FROM customers WHERE id = 1")), bot.out);
    }

    @Test
    @Order(3)
    void dropTableIsBlockedWith42501AndTheTableStays() throws Exception {
        Psql drop = psql("alice", "DROP TABLE orders");
        assertNotEquals(0, drop.exit);
        assertTrue(drop.err.contains("42501"), drop.err);
        assertEquals(String.valueOf(ShopSeed.ORDERS), directScalar("SELECT count(*) FROM orders"));
    }

    @Test
    @Order(4)
    void aliceUpdateOnProdIsHeldUntilBobApprovesItWithTheCli() throws Exception {
        String before = directScalar("SELECT total FROM orders WHERE id = 1");
        assertNotEquals("0.00", before);
        Process update = start(command("alice") + " -X -At -v VERBOSITY=verbose -c "
                + quote("UPDATE orders SET total = 0 WHERE id = 1"));
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(update.getInputStream()));
        String id = awaitRequestId(new BufferedReader(new InputStreamReader(update.getErrorStream(),
                StandardCharsets.UTF_8)));
        assertTrue(update.isAlive(), "psql waits for the approval");
        assertEquals(before, directScalar("SELECT total FROM orders WHERE id = 1"), "nothing ran yet");

        String url = match(" approvals list --url (\\S+)");
        String bobToken = Files.readString(Path.of(match(" approvals list .*--token \"\\$\\(cat (\\S+)\\)\""))).strip();
        Cli list = cli("approvals", "list", "--url", url, "--token", bobToken);
        assertEquals(0, list.exit, list.err);
        assertTrue(list.out.contains(id) && list.out.contains("pending"), list.out);
        Cli approve = cli("approvals", "approve", id, "--url", url, "--token", bobToken);
        assertEquals(0, approve.exit, approve.out + approve.err);

        assertTrue(update.waitFor(20, TimeUnit.SECONDS), "the UPDATE completes once approved");
        assertEquals(0, update.exitValue());
        assertEquals("UPDATE 1", out.get(5, TimeUnit.SECONDS).strip());
        assertEquals("0.00", directScalar("SELECT total FROM orders WHERE id = 1"));
    }

    @Test
    @Order(5)
    void theAuditLogOfTheTourVerifies() {
        String dir = match(" audit verify (\\S+)");
        assertEquals(demo.auditDir().toString(), dir);
        String key = match(" audit verify \\S+ --public-key (\\S+)");
        assertFalse(Path.of(key).startsWith(demo.auditDir()), "the signing key is kept outside the log: " + key);
        String witness = match(" --witness (\\S+)");
        String chain = match(" --witness \\S+ --chain (\\S+)");
        // The witness takes checkpoint heads asynchronously (after the checkpoint, at most every second): on a
        // loaded machine the tour can end before its first head is there, so wait for one, then verify.
        Cli verify = cli("audit", "verify", dir, "--public-key", key, "--witness", witness, "--chain", chain);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (verify.exit != 0 && verify.out.contains("holds no head") && System.nanoTime() < deadline) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            verify = cli("audit", "verify", dir, "--public-key", key, "--witness", witness, "--chain", chain);
        }
        System.out.print(verify.out);
        assertEquals(0, verify.exit, verify.out + verify.err);
        assertTrue(verify.out.contains("complete up to the witness's head"), verify.out);
    }

    @Test
    @Order(6)
    void everyEventOfTheTourValidatesAsOcsf() throws Exception {
        String line = match("( audit export \\S+ --format ocsf --since \\S+)");
        String[] args = line.trim().split(" ");
        Cli export = cli(args);
        assertEquals(0, export.exit, export.err);
        java.util.Map<Integer, Integer> classes = new java.util.TreeMap<>();
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String event : export.out.split("\n")) {
            com.fasterxml.jackson.databind.JsonNode node = json.readTree(event);
            assertEquals(java.util.List.of(), dev.warden.testkit.OcsfSchema.errors(node), event);
            classes.merge(node.path("class_uid").asInt(), 1, Integer::sum);
        }
        System.out.println("OCSF events of the tour by class: " + classes);
        assertTrue(classes.getOrDefault(3002, 0) > 0, "logins: " + classes);
        assertTrue(classes.getOrDefault(6005, 0) > 0, "statements: " + classes);
        assertTrue(export.out.contains("\"disposition\":\"Blocked\""), "the blocked DROP TABLE");
        assertTrue(export.out.contains("\"disposition\":\"Held\""), "the held UPDATE");
    }

    /**
     * After the tour, {@code warden audit usage} tells who saw which sensitive columns: alice received the e-mails
     * masked, carol (a pii-reader, exempt) in clear; each result record names the rule that matched the column.
     */
    @Test
    @Order(7)
    void auditUsageAfterTheTourNamesAlicesMaskedColumnsAndCarolsClearOnes() throws Exception {
        Cli usage = cli("audit", "usage", demo.auditDir().toString(), "--json");
        assertEquals(0, usage.exit, usage.err);
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> byUser = new java.util.HashMap<>();
        for (String line : usage.out.split("\n")) {
            com.fasterxml.jackson.databind.JsonNode node = json.readTree(line);
            byUser.put(node.path("username").asText().replaceAll("@.*", ""), node);
        }
        com.fasterxml.jackson.databind.JsonNode alice = byUser.get("alice").path("sensitive_columns").path("email");
        com.fasterxml.jackson.databind.JsonNode carol = byUser.get("carol").path("sensitive_columns").path("email");
        assertTrue(alice.path("masked").asLong() >= 1, usage.out);
        assertEquals(0, alice.path("clear").asLong(), usage.out);
        assertTrue(carol.path("clear").asLong() >= 1, usage.out);
        assertEquals(0, carol.path("masked").asLong(), usage.out);
        Cli table = cli("audit", "usage", demo.auditDir().toString());
        System.out.print(table.out);
        assertTrue(table.out.lines().anyMatch(l -> l.startsWith("alice@") && l.contains("email (")
                && !l.contains(" 0 masked")), table.out);
        assertTrue(table.out.lines().anyMatch(l -> l.startsWith("carol@") && l.contains("email (0 masked")), table.out);
    }

    @Test
    @Order(8)
    void anEditToTheDemosPolicyAppliesWithoutARestart() throws Exception {
        Psql before = psql("alice", "SELECT count(*) FROM orders");
        assertEquals(0, before.exit, before.err);
        Path policy = demo.policyFile();
        String original = Files.readString(policy, StandardCharsets.UTF_8);
        assertTrue(original.contains("\n  rules:\n"), original);
        int port = demo.port();
        try {
            // As a user would: the file is edited in place while the demo runs.
            Files.writeString(policy, original.replace("\n  rules:\n", "\n  rules:\n    - { name: tour-live-edit, "
                    + "environments: [prod], match: { statements: [SELECT] }, action: block, "
                    + "message: the policy was edited }\n"), StandardCharsets.UTF_8);
            Psql after = psql("alice", "SELECT count(*) FROM orders");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (after.exit == 0 && System.nanoTime() < deadline) {
                Thread.sleep(200);
                after = psql("alice", "SELECT count(*) FROM orders");
            }
            assertNotEquals(0, after.exit, "the edited rule never applied: " + after.out);
            assertTrue(after.err.contains("42501") && after.err.contains("tour-live-edit"), after.err);
            assertEquals(port, demo.port(), "the same Warden, not restarted");
        } finally {
            Files.writeString(policy, original, StandardCharsets.UTF_8);
        }
        Psql restored = psql("alice", "SELECT count(*) FROM orders");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (restored.exit != 0 && System.nanoTime() < deadline) {
            Thread.sleep(200);
            restored = psql("alice", "SELECT count(*) FROM orders");
        }
        assertEquals(0, restored.exit, "the rule goes away with the edit undone: " + restored.err);
    }

    // ---- running what the guide prints ----------------------------------------------------------------------

    record Psql(int exit, String out, String err) {
    }

    /** The printed psql command line of {@code user}, as a shell would run it. */
    static String command(String user) {
        return match("(PGPASSWORD=\\$\\(cat \\S+\\) psql \"[^\"]*user=" + Pattern.quote(user + "@")
                + "[^\"]*\")");
    }

    static Psql psql(String user, String sql) throws Exception {
        return run(command(user), sql);
    }

    /** {@code user}'s command as the guide of {@code d} prints it (another start of the demo than {@link #demo}). */
    static Psql psqlOf(Demo d, String user, String sql) throws Exception {
        Matcher m = Pattern.compile("(PGPASSWORD=\\$\\(cat \\S+\\) psql \"[^\"]*user=" + Pattern.quote(user + "@")
                + "[^\"]*\")").matcher(DemoGuide.render(d, "warden", false));
        assertTrue(m.find(), "no command for " + user);
        return run(m.group(1), sql);
    }

    private static Psql run(String command, String sql) throws Exception {
        Process p = start(command + " -X -At -v VERBOSITY=verbose -c " + quote(sql));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        String out = readAll(p.getInputStream());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "psql finished");
        return new Psql(p.exitValue(), out, err.get(5, TimeUnit.SECONDS));
    }

    static Process start(String shellLine) throws IOException {
        return new ProcessBuilder("bash", "-c", shellLine).start();
    }

    static String awaitRequestId(BufferedReader stderr) throws Exception {
        CompletableFuture<String> id = CompletableFuture.supplyAsync(() -> {
            StringBuilder seen = new StringBuilder();
            try {
                for (String line = stderr.readLine(); line != null; line = stderr.readLine()) {
                    seen.append(line).append('\n');
                    Matcher m = Pattern.compile("request (apr_\\S+)").matcher(line);
                    if (m.find()) {
                        return m.group(1);
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            throw new AssertionError("psql ended without a NOTICE naming the request: " + seen);
        });
        return id.get(20, TimeUnit.SECONDS);
    }

    static String match(String regex) {
        Matcher m = Pattern.compile(regex).matcher(guide);
        assertTrue(m.find(), "the guide has no line matching " + regex + ":\n" + guide);
        return m.group(1);
    }

    static String quote(String sql) {
        return "'" + sql.replace("'", "'\\''") + "'";
    }

    static String readAll(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static String directScalar(String sql) throws Exception {
        try (Connection c = demo.database().connect(demo.database().databases().get("prod"));
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }

    record Cli(int exit, String out, String err) {
    }

    static synchronized Cli cli(String... args) {
        CliRun r = CliRun.of(args);
        return new Cli(r.exitCode(), r.out(), r.err());
    }
}
