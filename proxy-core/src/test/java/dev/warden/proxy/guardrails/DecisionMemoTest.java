package dev.warden.proxy.guardrails;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.Environment;
import dev.warden.config.Policy;
import dev.warden.identity.Identity;
import dev.warden.proxy.ProdPolicy;
import dev.warden.proxy.approvals.People;
import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The memo must never give a decision other than the guardrails' own. Generated statements of a few shapes,
 * written many ways (literals, comments, case, spacing: same shape, other text), each judged by the memo and
 * afresh; the texts that differ in what the guardrails read (role targets, CASCADE in a DROP, WHERE or not)
 * are among them.
 */
class DecisionMemoTest {

    private static final String GUARDRAILS = """
            guardrails:
              rules:
                - { name: no-secrets, match: { tables: ["secret*"] }, action: block }
                - { name: no-sleep, match: { functions: [pg_sleep] }, action: block }
                - { name: reviewed-deletes, match: { statements: [DELETE] }, action: require_approval, approvers: [dba] }
                - { name: no-wide-updates, match: { statements: [UPDATE], without_where: true }, action: block }
            """;

    @TempDir
    Path dir;

    private Policy policy(String extra) throws Exception {
        return ProdPolicy.with(GUARDRAILS + extra, dir);
    }

    private static final List<String> SHAPES = List.of(
            "SELECT abalance FROM pgbench_accounts WHERE aid = %d",
            "select * from secrets where id = %d",
            "SELECT pg_sleep(%d)",
            "UPDATE t SET a = %d WHERE id = 1",
            "UPDATE t SET a = %d",
            "DELETE FROM t WHERE id = %d",
            "WITH d AS (DELETE FROM t WHERE id = %d RETURNING *) SELECT * FROM d",
            "EXPLAIN SELECT * FROM t WHERE id = %d",
            "PREPARE p%d AS UPDATE t SET a = 1",
            "SET ROLE r%d",
            "SET ROLE warden",
            "SET ROLE 'warden'",
            "SET ROLE 'postgres'",
            "DROP TABLE t%d",
            "DROP TYPE ty%d",
            "DROP TYPE ty%d CASCADE",
            "DROP FUNCTION f%d() /* CASCADE */",
            "DO $$ BEGIN DELETE FROM t WHERE id = %d; END $$",
            "SELECT %d; DELETE FROM t",
            "TRUNCATE t%d");

    private static String variant(Random random, String shape) {
        String sql = shape.formatted(random.nextInt(4));
        switch (random.nextInt(4)) {
            case 0 -> sql = "/* c" + random.nextInt(3) + " */ " + sql;
            case 1 -> sql = sql.replace(" ", "  ");
            case 2 -> sql = sql + " -- note";
            default -> { }
        }
        return sql;
    }

    @Test
    void theMemoDecidesAsTheGuardrailsDoForGeneratedStatements() throws Exception {
        long seed = System.nanoTime();
        System.out.println("DecisionMemoTest seed=" + seed);
        Random random = new Random(seed);
        Policy policy = policy("");
        Environment prod = policy.environment("prod").orElseThrow();
        Guardrails guardrails = new Guardrails(policy.guardrails());
        Analyzer analyzer = new Analyzer(10_000);
        DecisionMemo memo = new DecisionMemo();
        int[] seen = new int[SHAPES.size()];
        int[] remembered = new int[SHAPES.size()];
        for (int i = 0; i < 3_000; i++) {
            int shape = random.nextInt(SHAPES.size());
            String sql = variant(random, SHAPES.get(shape));
            long hitsBefore = memo.hits();
            // A session's identity and login are fixed; a change (which empties the memo) is tried now and then.
            Identity who = i / 500 % 3 == 1 ? People.BOB : People.ALICE;
            // Warm shapes take the event loop's path (the shape cache), as in the proxy.
            Analysis analysis = analyzer.analyzeCached(sql, true);
            if (analysis == null) {
                analysis = analyzer.analyze(sql, true);
            }
            String login = i / 700 % 2 == 1 ? "other" : "warden";
            assertEquals(guardrails.decide(who, prod, analysis, login), memo.decide(guardrails, who, prod, analysis,
                    login), "seed=" + seed + " statement " + i + ": " + sql);
            seen[shape]++;
            remembered[shape] += (int) (memo.hits() - hitsBefore);
        }
        for (int s = 0; s < SHAPES.size(); s++) {
            System.out.printf("  %4d of %4d remembered: %s%n", remembered[s], seen[s], SHAPES.get(s));
        }
        // Else the comparison above proves nothing about remembered decisions: the parsed shapes must be
        // remembered (the lexer's own readings are built afresh for every text, and so judged afresh).
        assertTrue(remembered[0] > seen[0] / 2, "seed=" + seed + " pgbench's select");
        assertTrue(remembered[3] > seen[3] / 2, "seed=" + seed + " an UPDATE with WHERE");
    }

    @Test
    void aNewPolicyIsJudgedAfreshNotByTheOldOnesDecisions() throws Exception {
        Policy before = policy("");
        Policy after = policy("    - { name: no-accounts, match: { tables: [pgbench_accounts] }, action: block }\n");
        Environment prod = before.environment("prod").orElseThrow();
        Analyzer analyzer = new Analyzer(10_000);
        DecisionMemo memo = new DecisionMemo();
        Guardrails old = new Guardrails(before.guardrails());
        for (int aid = 1; aid <= 3; aid++) {
            Analysis a = analyzer.analyze("SELECT abalance FROM pgbench_accounts WHERE aid = " + aid, true);
            assertTrue(memo.decide(old, People.ALICE, prod, a, "warden").allowed());
        }
        assertEquals(2, memo.hits());
        Analysis again = analyzer.analyze("SELECT abalance FROM pgbench_accounts WHERE aid = 4", true);
        Decision now = memo.decide(new Guardrails(after.guardrails()), People.ALICE, prod, again, "warden");
        assertEquals("no-accounts", now.rule());
        assertEquals(2, memo.hits());
    }

    @Test
    void aRoleTargetIsNotTakenForAnother() throws Exception {
        Policy policy = policy("");
        Environment prod = policy.environment("prod").orElseThrow();
        Guardrails guardrails = new Guardrails(policy.guardrails());
        Analyzer analyzer = new Analyzer(10_000);
        DecisionMemo memo = new DecisionMemo();
        assertTrue(memo.decide(guardrails, People.ALICE, prod, analyzer.analyze("SET ROLE warden", true), "warden")
                .allowed());
        assertEquals("role-escalation", memo.decide(guardrails, People.ALICE, prod,
                analyzer.analyze("SET ROLE postgres", true), "warden").rule());
    }
}
