package dev.warden.proxy.session;

import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import dev.warden.sql.CommandTags;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tripwire's rules, message by message, without a socket. End to end (real server, real clients) it is
 * {@code TripwireThroughWardenTest}.
 */
class TripwireTest {

    private final Analyzer analyzer = new Analyzer(100);
    private final Tripwire tripwire = new Tripwire(Map.of("session_authorization", "alice", "is_superuser", "off",
            "TimeZone", "UTC"));

    private Optional<Tripwire.Mismatch> answer(Analysis a, List<String> answers, String tag) {
        return tripwire.answered(a, false, answers, tag, name -> Optional.empty());
    }

    @Test
    void eachAnswerIsComparedWithTheStatementInTheSamePlace() {
        Analysis a = analyzer.analyze("SELECT 1; UPDATE t SET a = 1 WHERE b = 2");
        List<String> answers = new ArrayList<>();
        assertTrue(answer(a, answers, "SELECT 1").isEmpty());
        assertTrue(answer(a, answers, "UPDATE 4").isEmpty());
        assertTrue(tripwire.queryDone(a, answers, false).isEmpty());
        Tripwire.Mismatch more = answer(a, answers, "DROP TABLE").orElseThrow();
        assertEquals("statement_count", more.check());
        assertEquals(List.of("SELECT", "UPDATE"), more.warden());
        assertEquals(List.of("SELECT 1", "UPDATE 4", "DROP TABLE"), more.server());
    }

    @Test
    void aTagThatNamesAnotherStatementIsACommandTagMismatch() {
        Analysis a = analyzer.analyze("SELECT * FROM t");
        Tripwire.Mismatch m = answer(a, new ArrayList<>(), "DELETE 3").orElseThrow();
        assertEquals("command_tag", m.check());
        assertTrue(m.detail().contains("DELETE 3") && m.detail().contains("SELECT"), m.detail());
    }

    @Test
    void fewerAnswersThanStatementsIsAMismatchUnlessAnErrorStoppedTheRest() {
        Analysis a = analyzer.analyze("SELECT 1; SELECT 2; SELECT 3");
        List<String> answers = new ArrayList<>();
        answer(a, answers, "SELECT 1");
        assertEquals("statement_count", tripwire.queryDone(a, answers, false).orElseThrow().check());
        assertTrue(tripwire.queryDone(a, answers, true).isEmpty(), "an error skips the rest");
    }

    @Test
    void anExecuteRunsExactlyOneStatement() {
        Analysis two = analyzer.analyze("SELECT 1; SELECT 2");
        assertEquals("statement_count", tripwire.answered(two, true, new ArrayList<>(), "SELECT 1",
                name -> Optional.empty()).orElseThrow().check());
        Analysis empty = analyzer.analyze("");
        assertTrue(tripwire.answered(empty, true, new ArrayList<>(), CommandTags.EMPTY_QUERY_RESPONSE,
                name -> Optional.empty()).isEmpty());
    }

    @Test
    void executeIsComparedWithTheStatementTheServerConfirmedAsPrepared() {
        answer(analyzer.analyze("PREPARE p AS SELECT 1"), new ArrayList<>(), "PREPARE");
        Analysis execute = analyzer.analyze("EXECUTE p");
        assertTrue(answer(execute, new ArrayList<>(), "SELECT 1").isEmpty());
        assertEquals("command_tag", answer(execute, new ArrayList<>(), "DELETE 1").orElseThrow().check());
        answer(analyzer.analyze("DEALLOCATE p"), new ArrayList<>(), "DEALLOCATE");
        assertTrue(answer(execute, new ArrayList<>(), "DELETE 1").isEmpty(), "unknown again: no claim");
    }

    /**
     * SQL EXECUTE of a statement prepared with no text (a Parse of "") is answered by CommandComplete "EXECUTE",
     * not by EmptyQueryResponse (PostgreSQL 15, checked); the tripwire took it for a mismatch and ended the session
     * (a security pass, F2). That tag, for that statement, is all it accepts.
     */
    @Test
    void executeOfAnEmptyPreparedStatementIsAnsweredByTheTagExecuteAlone() {
        Analysis empty = analyzer.analyze("");
        java.util.function.Function<String, Optional<dev.warden.sql.StatementFacts>> prepared =
                name -> name.equals("q1") ? Optional.of(empty.statements().get(0)) : Optional.empty();
        Analysis execute = analyzer.analyze("EXECUTE q1");
        assertTrue(tripwire.answered(execute, false, new ArrayList<>(), "EXECUTE", prepared).isEmpty());
        assertTrue(tripwire.answered(execute, true, new ArrayList<>(), "EXECUTE", prepared).isEmpty(),
                "the same EXECUTE sent with Parse/Bind/Execute");
        for (String other : List.of("SELECT 1", "DELETE 1", "EXECUTE 1", CommandTags.EMPTY_QUERY_RESPONSE)) {
            assertEquals("command_tag", tripwire.answered(execute, false, new ArrayList<>(), other, prepared)
                    .orElseThrow(() -> new AssertionError(other)).check(), other);
        }
        // A statement that is not empty, or not EXECUTE, is held to its own tag as before.
        answer(analyzer.analyze("PREPARE p AS SELECT 1"), new ArrayList<>(), "PREPARE");
        assertEquals("command_tag", answer(analyzer.analyze("EXECUTE p"), new ArrayList<>(), "EXECUTE")
                .orElseThrow().check());
        assertEquals("command_tag", tripwire.answered(analyzer.analyze("SELECT 1"), false, new ArrayList<>(),
                "EXECUTE", prepared).orElseThrow().check());
        assertEquals("command_tag", tripwire.answered(empty, false, new ArrayList<>(), "EXECUTE", prepared)
                .orElseThrow().check());
    }

    @Test
    void anIdentityChangeNeedsAStatementThatExplainsIt() {
        tripwire.running(analyzer.analyze("SELECT set_config('role', 'admin', false)"));
        Tripwire.Mismatch m = tripwire.parameter("is_superuser", "on").orElseThrow();
        assertEquals("parameter_status", m.check());
        assertEquals(List.of("is_superuser=on"), m.server());
        tripwire.ready();
        assertEquals("parameter_status", tripwire.parameter("session_authorization", "bob").orElseThrow().check());
        assertTrue(tripwire.parameter("TimeZone", "Europe/Oslo").isEmpty(), "not an identity parameter");
        assertTrue(tripwire.parameter("session_authorization", "alice").isEmpty(), "unchanged");
    }

    @Test
    void setRoleExplainsTheChangeAndRollbackExplainsTheWayBack() {
        tripwire.running(analyzer.analyze("BEGIN; SET LOCAL ROLE admin"));
        assertTrue(tripwire.parameter("is_superuser", "on").isEmpty());
        tripwire.ready();
        tripwire.running(analyzer.analyze("ROLLBACK"));
        assertTrue(tripwire.parameter("is_superuser", "off").isEmpty(), "back to a value the session had");
        tripwire.ready();
        tripwire.running(analyzer.analyze("ROLLBACK"));
        assertFalse(tripwire.parameter("session_authorization", "mallory").isEmpty(),
                "ROLLBACK never explains a value the session never had");
    }

    @Test
    void anErrorThatUndoesTheBatchExplainsAReturnToAKnownValue() {
        tripwire.running(analyzer.analyze("SET ROLE admin"));
        assertTrue(tripwire.parameter("is_superuser", "on").isEmpty());
        tripwire.ready();
        tripwire.running(analyzer.analyze("SELECT 1"));
        assertFalse(tripwire.parameter("is_superuser", "off").isEmpty(), "no error, no transaction end");
        tripwire.failed();
        assertTrue(tripwire.parameter("is_superuser", "off").isEmpty());
    }
}
