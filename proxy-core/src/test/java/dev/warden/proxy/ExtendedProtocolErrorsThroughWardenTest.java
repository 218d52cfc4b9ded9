package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.List;

import static dev.warden.proxy.MaskedAttacker.seedsIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An error the server raises at Parse or Bind (pgJDBC's default extended protocol) answers the statement parsed or
 * bound, and a masked identity gets it masked as that statement's, exactly as the same error of the same statement
 * sent as a Query: the server's SQLSTATE and message when the statement touches nothing sensitive (before, it was
 * masked as the answer to a statement Warden did not know, and the client saw a redacted message). What the
 * statement reads stays masked in its errors whichever message the server raised them at, a pipeline's included.
 */
class ExtendedProtocolErrorsThroughWardenTest {

    static WardenHarness warden;

    /** A stored e-mail with its separators made spaces: no value detector knows it (the seed check still does). */
    private static final String HIDDEN = "translate(email, '@.', '  ')";

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(warden, "xe_people");
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE xe_plain (i int)");
            s.execute("GRANT ALL ON xe_plain TO PUBLIC");
            s.execute("CREATE TABLE xe_unique (id int, email text UNIQUE)");
            s.execute("INSERT INTO xe_unique SELECT id, email FROM xe_people");
            s.execute("GRANT ALL ON xe_unique TO PUBLIC");
            // Planning a call of an IMMUTABLE function of constants runs it: at Bind, for pgJDBC's unnamed statement.
            s.execute("CREATE FUNCTION xe_first_email() RETURNS int IMMUTABLE LANGUAGE sql AS "
                    + "$$ SELECT " + HIDDEN + "::int FROM public.xe_people ORDER BY id LIMIT 1 $$");
            // A domain whose check fails on the first e-mail: Bind converts a parameter of that type.
            s.execute("CREATE FUNCTION xe_checks(int) RETURNS boolean STABLE LANGUAGE sql AS "
                    + "$$ SELECT $1 > (SELECT " + HIDDEN + "::int FROM public.xe_people ORDER BY id LIMIT 1) $$");
            s.execute("CREATE DOMAIN xe_checked AS int CHECK (xe_checks(VALUE))");
            // ... and one that raises as many notices as the first e-mail has characters.
            s.execute("CREATE FUNCTION xe_noisy() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN "
                    + "SELECT length(email) INTO n FROM public.xe_people ORDER BY id LIMIT 1; "
                    + "FOR i IN 1..n LOOP RAISE NOTICE 'tick'; END LOOP; RETURN 0; END $$");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static ServerErrorMessage failure(Connection c, String sql, Object... parameters) {
        PSQLException e = assertThrows(PSQLException.class, () -> {
            try (PreparedStatement p = c.prepareStatement(sql)) {
                for (int i = 0; i < parameters.length; i++) {
                    p.setObject(i + 1, parameters[i], Types.OTHER); // unspecified: the server converts the text
                }
                p.execute();
            }
        }, sql);
        assertTrue(e.getServerErrorMessage() != null, "a server error: " + e);
        return e.getServerErrorMessage();
    }

    @Test
    void aBadIntegerLiteralInAPreparedStatementGetsTheServersError() throws SQLException {
        try (Connection c = warden.connect("")) {
            ServerErrorMessage e = failure(c, "INSERT INTO xe_plain (i) VALUES ('zzqq')");
            assertEquals("22P02", e.getSQLState());
            assertEquals("invalid input syntax for type integer: \"zzqq\"", e.getMessage());
            // Parse and Describe, no Execute (the parameters' metadata): the same error, the same text.
            PSQLException described = assertThrows(PSQLException.class, () -> {
                try (PreparedStatement p = c.prepareStatement("INSERT INTO xe_plain (i) VALUES ('zzqq')")) {
                    p.getParameterMetaData();
                }
            });
            assertEquals("22P02", described.getSQLState());
            assertEquals("invalid input syntax for type integer: \"zzqq\"",
                    described.getServerErrorMessage().getMessage());
        }
    }

    @Test
    void aBoundValueTheServerCannotConvertGetsTheServersError() throws SQLException {
        try (Connection c = warden.connect("")) {
            ServerErrorMessage e = failure(c, "INSERT INTO xe_plain (i) VALUES (?)", "zzqq");
            assertEquals("22P02", e.getSQLState());
            assertEquals("invalid input syntax for type integer: \"zzqq\"", e.getMessage());
            // In a statement that reads a masked column the echoed input is redacted, as the same literal's is in
            // a Query (the text cannot tell the client's input from a stored value); the code stays.
            e = failure(c, "SELECT email FROM xe_people WHERE id = ?", "zzqq");
            assertEquals("22P02", e.getSQLState());
        }
    }

    /** Each statement's error, as a masked identity gets it through a Query and through Parse, Bind, Execute. */
    @Test
    void anErrorAtParseOrBindIsMaskedAsTheSameErrorOfAQuery() throws SQLException {
        List<String> statements = List.of(
                "INSERT INTO xe_plain (i) VALUES ('zzqq')",
                "SELECT email FROM xe_people WHERE id = 'zzqq'",
                "SELECT xe_first_email()",
                "SELECT nosuchcolumn FROM xe_people",
                "SELECT 1 FROM xe_nosuchtable");
        try (Connection simple = warden.connect("preferQueryMode=simple"); Connection extended = warden.connect("")) {
            for (String sql : statements) {
                ServerErrorMessage q = failure(simple, sql);
                ServerErrorMessage x = failure(extended, sql);
                assertEquals(q.getSQLState() + " " + q.getMessage() + " / " + q.getDetail(),
                        x.getSQLState() + " " + x.getMessage() + " / " + x.getDetail(), sql);
            }
        }
    }

    @Test
    void aMaskedValueNeverShowsInAnErrorAtBindOrExecute() throws Exception {
        try (Connection c = warden.connect("")) {
            // Planning runs the function, which fails on the first e-mail: a Bind error over a masked column.
            ServerErrorMessage e = failure(c, "SELECT xe_first_email()");
            assertEquals(List.of(), seedsIn(e.toString()), e.toString());
            // A unique violation at Execute: its DETAIL names the key, a stored e-mail.
            e = failure(c, "INSERT INTO xe_unique (id, email) SELECT id + 100, email FROM xe_unique WHERE id = ?", "1");
            assertEquals("23505", e.getSQLState());
            assertEquals(List.of(), seedsIn(e.toString()), e.toString());
        }
        // An exempt identity sees what the server sent: the statements above really echo the values.
        String exempt = warden.issuer.token().email(WardenHarness.USER).groups("eng", "pii-readers").sign();
        try (Connection c = warden.connect("dev", WardenHarness.USER, exempt, "")) {
            assertFalse(seedsIn(failure(c, "SELECT xe_first_email()").toString()).isEmpty());
            assertFalse(seedsIn(failure(c, "INSERT INTO xe_unique (id, email) SELECT id + 100, email FROM xe_unique "
                    + "WHERE id = ?", "1").toString()).isEmpty());
        }
    }

    private static int notices(Connection c, String sql) throws SQLException {
        try (PreparedStatement p = c.prepareStatement(sql)) {
            p.execute();
            int n = 0;
            for (java.sql.SQLWarning w = p.getWarnings(); w != null; w = w.getNextWarning()) {
                n += w.getMessage().contains("tick") || w.getMessage().contains("redacted") ? 1 : 0;
            }
            return n;
        }
    }

    @Test
    void noticesRaisedAtBindAreLimitedAsAQuerysAre() throws SQLException {
        // A Query over sensitive data relays its first notice only: their number is the code's choice (here the
        // length of an e-mail). Planning at Bind raised them all.
        try (Connection simple = warden.connect("preferQueryMode=simple"); Connection extended = warden.connect("")) {
            assertEquals(1, notices(simple, "SELECT xe_noisy()"));
            assertEquals(1, notices(extended, "SELECT xe_noisy()"));
        }
    }

    private static byte[] text(String value) {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void inAPipelineTheErrorOfTheSecondBindAnswersTheSecondStatement() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A masked read first, then a Bind that fails on the client's own value: its error is the second
            // statement's (nothing sensitive), not the first's, nor one of no statement.
            a.unnamed("SELECT email, ssn FROM xe_people ORDER BY id");
            a.unnamed("INSERT INTO xe_plain (i) VALUES ($1)", text("zzqq"));
            a.unnamed("SELECT email FROM xe_people");
            a.send(new FrontendMessage.Sync());
            String answer = a.untilReady();
            assertEquals(List.of(), seedsIn(answer), answer);
            assertTrue(answer.contains("22P02") && answer.contains("invalid input syntax for type integer: \"zzqq\""),
                    answer);
            assertEquals(1, answer.split("\nE", -1).length - 1, "one error, the rest skipped: " + answer);

            // A clear statement whose parameter's type runs a check over masked values at Bind: masked as the
            // statement with what binding its parameter runs.
            int checked;
            try (Connection d = warden.direct()) {
                checked = Integer.parseInt(WardenHarness.scalar(d, "SELECT 'xe_checked'::regtype::oid"));
            }
            a.send(new FrontendMessage.Parse("", "INSERT INTO xe_plain (i) VALUES ($1)", List.of(checked)));
            a.send(new FrontendMessage.Bind("", "", List.of(), List.of(text("7")), List.of()));
            a.send(new FrontendMessage.Execute("", 0));
            a.send(new FrontendMessage.Sync());
            answer = a.untilReady();
            assertTrue(answer.contains("22P02"), answer);
            assertEquals(List.of(), seedsIn(answer), answer);

            // A clear statement first, then one whose Bind fails over a masked value: masked as the second's.
            a.unnamed("SELECT 1");
            a.unnamed("SELECT xe_first_email()");
            a.unnamed("SELECT 2");
            a.send(new FrontendMessage.Sync());
            answer = a.untilReady();
            assertTrue(answer.contains("22P02"), answer);
            assertEquals(List.of(), seedsIn(answer), answer);
        }
    }
}
