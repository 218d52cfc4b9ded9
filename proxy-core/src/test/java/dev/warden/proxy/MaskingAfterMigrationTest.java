package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static dev.warden.proxy.MaskedAttacker.firstValue;
import static dev.warden.proxy.MaskedAttacker.seedsIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A migration run outside Warden (a direct connection) replaces a function that a masked session's prepared
 * statements call, after Warden judged them clear: the server runs the new body at their next execution. Before,
 * masking kept what it judged at Parse (or at SQL PREPARE) for as long as the session lived: the new body's
 * e-mail addresses came back in clear at every later execution, while the same text sent afresh was masked, and a
 * body that now handed them to {@code set_config} ran. Now an execution is judged with the bodies the catalog
 * holds then; Warden sees DDL made outside it when its catalog entries expire (5 s), which the test waits out.
 */
class MaskingAfterMigrationTest {

    static WardenHarness warden;

    /** Seeds hide from value detection once {@code @}, {@code .} and {@code -} become spaces. */
    private static final String HIDE = "'@.-', '   '";

    @BeforeAll
    static void start() {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static void direct(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static String function(String name, String body) {
        return "CREATE OR REPLACE FUNCTION " + name + "() RETURNS text LANGUAGE plpgsql AS $$BEGIN " + body
                + " END$$";
    }

    /** Binds the named statement to the unnamed portal, describes and runs it. */
    private static String run(MaskedAttacker a, String statement) throws IOException {
        a.send(new FrontendMessage.Bind("", statement, List.of(), List.of(), List.of()));
        a.send(new FrontendMessage.Describe('P', ""));
        a.send(new FrontendMessage.Execute("", 0));
        a.send(new FrontendMessage.Sync());
        return a.untilReady();
    }

    private static void parse(MaskedAttacker a, String statement, String sql) throws IOException {
        a.send(new FrontendMessage.Parse(statement, sql, List.of()));
        a.send(new FrontendMessage.Sync());
        a.untilReady();
    }

    @Test
    void aPreparedStatementRunsWithTheBodiesItCallsNowAndIsMaskedByThem() throws Exception {
        MaskedAttacker.seed(warden, "mm_people");
        String clear = "RETURN 'x';";
        for (String f : List.of("mm_f", "mm_g", "mm_h", "mm_k")) {
            direct(function(f, clear));
        }
        String read = "(SELECT translate(string_agg(email, ','), " + HIDE + ") FROM mm_people)";
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            parse(a, "f", "SELECT mm_f() AS v");
            parse(a, "h", "SELECT mm_h() AS v");
            a.query("PREPARE g AS SELECT mm_g() AS v");
            a.query("PREPARE k AS SELECT mm_k() AS v");
            // Judged clear, and answered in clear.
            assertEquals("x", firstValue(run(a, "f")));
            assertEquals("x", firstValue(run(a, "h")));
            assertEquals("x", firstValue(a.query("EXECUTE g")));
            assertEquals("x", firstValue(run(a, "k")));

            direct(function("mm_f", "RETURN " + read + ";"));
            direct(function("mm_g", "RETURN " + read + ";"));
            direct(function("mm_h", "PERFORM set_config('mm.carried', " + read + ", false); RETURN 'y';"));
            Thread.sleep(5_500); // past the catalog's entries (see the class comment)

            String protocol = run(a, "f");
            String sql = a.query("EXECUTE g");
            String handedOff = run(a, "h");
            String carried = a.query("SELECT current_setting('mm.carried', true) AS v");
            String received = protocol + sql + handedOff + carried;
            assertEquals(List.of(), seedsIn(received), received);
            assertTrue(protocol.contains("[redacted]") && sql.contains("[redacted]"), protocol + sql);
            assertTrue(handedOff.contains("masking-handoff"), handedOff);
            // A statement whose function the migration left alone still answers in clear; the text sent afresh
            // is masked as its prepared form is.
            assertEquals("x", firstValue(run(a, "k")));
            assertTrue(a.query("SELECT mm_f() AS v").contains("[redacted]"));
        } finally {
            direct("DROP FUNCTION IF EXISTS mm_f(), mm_g(), mm_h(), mm_k()");
        }
    }
}
