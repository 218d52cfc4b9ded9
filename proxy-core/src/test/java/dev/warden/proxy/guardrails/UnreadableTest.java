package dev.warden.proxy.guardrails;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.sql.Analyzer;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What DDL makes unreadable for the rest of its transaction, read the way the server names things. */
class UnreadableTest {

    private final Analyzer analyzer = new Analyzer(100);

    private Unreadable of(String sql) {
        return Unreadable.changedBy(analyzer.analyze(sql));
    }

    @Test
    void viewsMadeAndRelationsRenamedMovedOrPutIntoATree() {
        Unreadable view = of("CREATE OR REPLACE TEMP VIEW s.v AS SELECT 1");
        assertEquals(Set.of("v"), view.views().keySet());
        assertFalse(view.unknown("v"));
        assertEquals(Set.of("Old", "new"), of("ALTER VIEW IF EXISTS s.\"Old\" RENAME /* c */ TO New").relations());
        assertEquals(Set.of("t"), of("ALTER TABLE t SET SCHEMA other").relations());
        assertEquals(Set.of("k", "p"), of("ALTER TABLE k INHERIT p").relations());
        assertEquals(Set.of("p", "c"), of("ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (1)").relations());
        // What only changes columns or constraints, or takes a table out of its tree, changes no name.
        for (String sql : new String[] {"ALTER TABLE t RENAME COLUMN a TO b", "ALTER TABLE t ADD COLUMN n int",
                "ALTER TABLE k NO INHERIT p", "CREATE TABLE t (id int)", "CREATE SCHEMA s"}) {
            assertTrue(of(sql).isEmpty(), sql);
        }
        // What a trigger or a default will call changes no name: it is run again with later statements.
        for (String sql : new String[] {"CREATE TRIGGER g AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
                "ALTER TABLE t ALTER COLUMN n SET DEFAULT f()"}) {
            Unreadable u = of(sql);
            assertEquals(Set.of(), u.names(), sql);
            assertEquals(1, u.deferred().size(), sql);
            assertEquals(Set.of("f"), u.deferred().get(0).functions(), sql);
        }
    }

    @Test
    void functionsMadeKeepTheirBodiesAndAlteredOnesAreUnknown() {
        Unreadable made = of("CREATE OR REPLACE FUNCTION s.f(a int) RETURNS int LANGUAGE sql AS "
                + "$$DELETE FROM t WHERE id = a RETURNING 1$$");
        assertEquals("DELETE", made.body("s.f").get(0).kind().name());
        assertFalse(made.function("f"));
        Unreadable renamed = of("ALTER FUNCTION public.fine() RENAME TO \"Other\"");
        assertEquals(Set.of("fine", "Other"), renamed.functions());
        assertTrue(renamed.function("public.fine"));
        assertNull(renamed.body("fine"));
        assertEquals(Set.of("p"), of("ALTER PROCEDURE p() SET search_path = x").functions());
        // An aggregate made runs its support functions.
        Unreadable aggregate = of("CREATE AGGREGATE a(int) (SFUNC = int4pl, STYPE = int)");
        assertFalse(aggregate.function("a"));
        assertEquals(Set.of("int4pl"), aggregate.body("a").get(0).functions());
        // A body in a language Warden cannot read is no body it can judge.
        Unreadable perl = of("CREATE FUNCTION f() RETURNS int LANGUAGE plperl AS 'return 1'");
        assertTrue(perl.function("f"));
        assertNull(perl.body("f"));
        // Made twice in one transaction: a call may run either body.
        Unreadable twice = of("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
                .with(of("CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM t RETURNING 1'"));
        assertEquals(2, twice.body("f").size());
    }

    @Test
    void aSchemaRenamedOrMadeWithObjectsMakesEveryNameUnreadable() {
        assertTrue(of("ALTER SCHEMA a RENAME TO b").relation("anything"));
        assertTrue(of("CREATE SCHEMA s CREATE TRIGGER g AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()")
                .function("anything"));
        // A schema made with views, tables or sequences: their names.
        Unreadable elements = of("CREATE SCHEMA s CREATE VIEW v AS SELECT 1 CREATE TABLE \"T\" (id int) "
                + "GRANT SELECT ON v TO PUBLIC");
        assertEquals(Set.of("v", "T"), elements.relations());
        assertFalse(elements.relation("anything"));
        assertFalse(of("ALTER SCHEMA a OWNER TO x").relation("anything"));
    }

    @Test
    void theDefinitionsAStatementReachesAreFollowed() {
        Unreadable u = of("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT g()'")
                .with(of("CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'DELETE FROM t RETURNING 1'"));
        assertEquals(2, u.definitionsNamedBy(analyzer.analyze("SELECT f()")).statements().size());
        assertEquals(Set.of("f", "g"), u.names());
        assertNull(u.definitionsNamedBy(analyzer.analyze("SELECT h()")));
    }
}
