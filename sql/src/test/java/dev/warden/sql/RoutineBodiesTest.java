package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The statements a PL/pgSQL body runs, as the analysis lists them. */
class RoutineBodiesTest {

    private static List<String> statements(String body) {
        return RoutineBodies.of("plpgsql", body).statements();
    }

    @Test
    void anExpressionWithAFromClauseIsAStatementWhereverItStands() {
        assertTrue(statements("BEGIN RAISE NOTICE '% %', 1, email FROM people WHERE id = 1; END")
                .contains("SELECT email FROM people WHERE id = 1"));
        assertTrue(statements("BEGIN RAISE EXCEPTION 'no' USING DETAIL = email FROM people, HINT = 'h'; END")
                .contains("SELECT email FROM people"));
        assertTrue(statements("BEGIN RETURN NEXT CASE WHEN id > 0 THEN email ELSE '' END FROM people; END")
                .contains("SELECT CASE WHEN id > 0 THEN email ELSE '' END FROM people"));
        assertTrue(statements("DECLARE x text; BEGIN FOREACH x IN ARRAY array_agg(email) FROM people LOOP "
                + "RETURN NEXT x; END LOOP; END").contains("SELECT array_agg(email) FROM people"));
        assertTrue(statements("DECLARE v text; BEGIN EXECUTE 'SELECT $1' INTO v USING email FROM people; END")
                .contains("SELECT email FROM people"));
        assertTrue(statements("DECLARE v text DEFAULT email FROM people; BEGIN END")
                .contains("SELECT email FROM people"));
    }

    @Test
    void eachDeclaredVariablesTypeIsTheCastPlpgsqlMakesIntoIt() {
        List<String> found = statements("DECLARE a CONSTANT public.\"Money\" := f(1, 2); b gw_dom; "
                + "c ALIAS FOR $1; d CURSOR FOR SELECT 1; e numeric(10, 2) NOT NULL DEFAULT 0; BEGIN "
                + "DECLARE g int[]; BEGIN END; END");
        for (String cast : List.of("SELECT NULL::public.\"Money\"", "SELECT NULL::gw_dom", "SELECT NULL::numeric",
                "SELECT NULL::int")) {
            assertTrue(found.contains(cast), cast + " in " + found);
        }
        assertFalse(found.stream().anyMatch(s -> s.contains("NULL::alias") || s.contains("NULL::cursor")), found.toString());
    }

    @Test
    void aBoundCursorsQueryIsAStatementAndADeclarationSectionIsNone() {
        assertTrue(statements("DECLARE v text; c CURSOR (k int) FOR SELECT email FROM people WHERE id = k; BEGIN "
                + "OPEN c(1); FETCH c INTO v; END").contains("SELECT email FROM people WHERE id = k"));
        assertTrue(statements("DECLARE c NO SCROLL CURSOR FOR SELECT email FROM people; BEGIN END").stream()
                .anyMatch(s -> s.startsWith("DECLARE c NO SCROLL CURSOR FOR SELECT email FROM people")));
    }

    @Test
    void aFromOfAFunctionsSyntaxOrAnOperatorIsNoStatement() {
        List<String> found = statements("BEGIN IF a IS DISTINCT FROM b THEN RAISE NOTICE '%', "
                + "extract(year FROM now()); END IF; END");
        assertFalse(found.stream().anyMatch(s -> s.contains("FROM b") || s.contains("year FROM")), found.toString());
    }

    /** A call of a built-in that changes something is a statement of its own wherever the body's expression stands. */
    @Test
    void aWritingBuiltInCalledInAnyExpressionIsAStatement() {
        List<String> found = statements("BEGIN IF lo_from_bytea(0, 'x') > 0 AND set_config('role', r, false) "
                + "IS NOT NULL THEN RETURN i; END IF; FOR k IN 1..pg_advisory_lock(1)::text::int LOOP END LOOP; "
                + "IF (42::oid).lo_unlink = 1 THEN NULL; END IF; RETURN i; END");
        for (String call : List.of("SELECT lo_from_bytea(0, 'x')", "SELECT set_config('role', r, false)",
                "SELECT pg_advisory_lock(1)", "SELECT pg_catalog.lo_unlink(NULL)")) {
            assertTrue(found.contains(call), call + " in " + found);
        }
        assertFalse(statements("BEGIN IF length(now()::text) > 0 THEN NULL; END IF; END").stream()
                .anyMatch(s -> s.contains("length") || s.contains("now")));
    }
}
