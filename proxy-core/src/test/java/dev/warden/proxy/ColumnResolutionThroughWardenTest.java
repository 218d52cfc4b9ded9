package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.BackendMessage.CopyData;
import dev.warden.pg.message.BackendMessage.DataRow;
import dev.warden.pg.message.BackendMessage.ErrorResponse;
import dev.warden.pg.message.BackendMessage.ReadyForQuery;
import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Columns resolved as the session itself sees them, as a masked identity: a session's TEMP table (which Warden's
 * own catalog connection cannot see) copied in and out and selected on the simple, extended and pipeline paths.
 */
class ColumnResolutionThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static List<BackendMessage> untilReady(RawClient c) throws Exception {
        List<BackendMessage> out = new ArrayList<>();
        BackendMessage m;
        do {
            m = c.read();
            out.add(m);
        } while (!(m instanceof ReadyForQuery));
        return out;
    }

    private static List<BackendMessage> noErrors(List<BackendMessage> answers) {
        assertTrue(answers.stream().noneMatch(ErrorResponse.class::isInstance), answers.toString());
        return answers;
    }

    private static List<String> copied(List<BackendMessage> answers) {
        return answers.stream().filter(CopyData.class::isInstance)
                .map(d -> new String(((CopyData) d).data(), StandardCharsets.UTF_8)).toList();
    }

    private static List<String> rows(List<BackendMessage> answers) {
        List<String> out = new ArrayList<>();
        for (BackendMessage m : answers) {
            if (m instanceof DataRow row) {
                List<String> values = new ArrayList<>();
                row.values().forEach(v -> values.add(v == null ? null : new String(v, StandardCharsets.UTF_8)));
                out.add(String.join("|", values));
            }
        }
        return out;
    }

    private static void extended(RawClient c, String sql, boolean describe) throws Exception {
        c.send(new FrontendMessage.Parse("", sql, List.of()));
        c.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
        if (describe) {
            c.send(new FrontendMessage.Describe('P', ""));
        }
        c.send(new FrontendMessage.Execute("", 0));
    }

    /** Two rows copied in, then out: the ids clear, the e-mails and SSNs (sensitive by name) masked. */
    private static void assertMaskedCopy(List<String> lines, String path) {
        assertEquals(2, lines.size(), path + ": " + lines);
        assertTrue(lines.get(0).startsWith("1\t"), path + ": " + lines);
        for (String line : lines) {
            assertFalse(line.contains("ann@") || line.contains("bob@"), path + " masks the e-mail: " + line);
            assertFalse(line.contains("123-45-67"), path + " masks the SSN: " + line);
        }
    }

    private static void assertMaskedRows(List<String> rows, String path) {
        assertEquals(2, rows.size(), path + ": " + rows);
        assertTrue(rows.get(0).startsWith("1|"), path + ": " + rows);
        for (String row : rows) {
            assertFalse(row.contains("ann@") || row.contains("bob@"), path + " masks the e-mail: " + row);
            assertFalse(row.contains("123-45-67"), path + " masks the SSN: " + row);
        }
    }

    private static final byte[] TWO_ROWS = "1\tann@example.com\t123-45-6781\n2\tbob@example.com\t123-45-6782\n"
            .getBytes(StandardCharsets.UTF_8);

    @Test
    void aTempTableIsCopiedInAndOutAndSelectedMaskedOnTheSimplePath() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Query("CREATE TEMP TABLE tmp_simple (id int, email text, ssn text)"));
            noErrors(untilReady(c));
            c.send(new FrontendMessage.Query("COPY tmp_simple FROM STDIN"));
            c.send(new FrontendMessage.CopyData(TWO_ROWS));
            c.send(new FrontendMessage.CopyDone());
            noErrors(untilReady(c));
            c.send(new FrontendMessage.Query("COPY tmp_simple TO STDOUT"));
            assertMaskedCopy(copied(noErrors(untilReady(c))), "simple");
            c.send(new FrontendMessage.Query("SELECT id, email, ssn FROM tmp_simple ORDER BY id"));
            assertMaskedRows(rows(noErrors(untilReady(c))), "simple");
        }
    }

    @Test
    void aTempTableIsCopiedInAndOutAndSelectedMaskedOnTheExtendedPath() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            extended(c, "CREATE TEMP TABLE tmp_ext (id int, email text, ssn text)", false);
            c.send(new FrontendMessage.Sync());
            noErrors(untilReady(c));
            extended(c, "COPY tmp_ext FROM STDIN", false);
            c.send(new FrontendMessage.CopyData(TWO_ROWS));
            c.send(new FrontendMessage.CopyDone());
            c.send(new FrontendMessage.Sync());
            noErrors(untilReady(c));
            extended(c, "COPY tmp_ext TO STDOUT", false);
            c.send(new FrontendMessage.Sync());
            assertMaskedCopy(copied(noErrors(untilReady(c))), "extended");
            extended(c, "SELECT id, email, ssn FROM tmp_ext ORDER BY id", true);
            c.send(new FrontendMessage.Sync());
            assertMaskedRows(rows(noErrors(untilReady(c))), "extended");
        }
    }

    /**
     * One unsynced batch (libpq pipeline mode): the temp table is made, filled by COPY FROM STDIN, copied out
     * (Warden's own Describe of its columns joins the batch) and selected without a Describe, then one Sync.
     */
    @Test
    void aTempTableIsCopiedInAndOutAndSelectedMaskedInOnePipeline() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            extended(c, "CREATE TEMP TABLE tmp_pipe (id int, email text, ssn text)", false);
            extended(c, "COPY tmp_pipe FROM STDIN", false);
            c.send(new FrontendMessage.CopyData(TWO_ROWS));
            c.send(new FrontendMessage.CopyDone());
            extended(c, "COPY tmp_pipe TO STDOUT", false);
            extended(c, "SELECT id, email, ssn FROM tmp_pipe ORDER BY id", false);
            c.send(new FrontendMessage.Sync());
            List<BackendMessage> answers = noErrors(untilReady(c));
            assertMaskedCopy(copied(answers), "pipeline");
            assertMaskedRows(rows(answers), "pipeline");
            assertEquals(0, answers.stream().filter(m -> m instanceof BackendMessage.RowDescription
                    || m instanceof BackendMessage.ParameterDescription).count(),
                    "Warden's own Describes are not relayed: " + answers);
            // The session goes on, in step.
            c.send(new FrontendMessage.Query("SELECT count(*) FROM tmp_pipe"));
            assertEquals(List.of("2"), rows(noErrors(untilReady(c))));
        }
    }

    /** A COPY of a relation that does not exist, in a pipeline: the client sees the error, then its Sync's answer. */
    @Test
    void aCopyOfAMissingRelationInAPipelineFailsAsOnTheServer() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            extended(c, "SELECT 1", false);
            extended(c, "COPY no_such_table TO STDOUT", false);
            extended(c, "SELECT 2", false);
            c.send(new FrontendMessage.Sync());
            List<BackendMessage> answers = untilReady(c);
            List<ErrorResponse> errors = answers.stream().filter(ErrorResponse.class::isInstance)
                    .map(ErrorResponse.class::cast).toList();
            assertEquals(1, errors.size(), answers.toString());
            assertEquals("42P01", errors.get(0).sqlState(), answers.toString());
            assertEquals(List.of("1"), rows(answers), "SELECT 2 is skipped to Sync: " + answers);
            c.send(new FrontendMessage.Query("SELECT 3"));
            assertEquals(List.of("3"), rows(noErrors(untilReady(c))));
        }
    }
}
