package dev.warden.audit.sink;

import dev.warden.config.Secret;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * What the PostgreSQL audit sink and the PostgreSQL witness store share: a connection with bounded timeouts, the
 * trigger that makes their table append-only, and error texts that keep the SQLSTATE.
 */
public final class AppendOnlyTables {

    private AppendOnlyTables() {
    }

    /** A connection to {@code url} that gives up on a dead server (connect 5 s, socket 30 s). */
    public static Connection connect(Secret url, String applicationName) throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("connectTimeout", "5");
        properties.setProperty("socketTimeout", "30");
        properties.setProperty("ApplicationName", applicationName);
        return DriverManager.getConnection(url.reveal(), properties);
    }

    /**
     * Creates (or replaces) the function and triggers that refuse UPDATE and DELETE on {@code table} with 42501,
     * and TRUNCATE too when {@code truncate}. Run inside the set-up transaction, after its advisory lock.
     *
     * @param what       names the table in the refusal ("audit", "witness")
     * @param rowTrigger the row trigger's name after the guard's ("" or "_rows": existing deployments keep theirs)
     */
    public static void refuseChanges(Statement s, String table, String what, String rowTrigger, boolean truncate)
            throws SQLException {
        String guard = table.replace('.', '_') + "_append_only";
        String function = table.contains(".") ? table.substring(0, table.indexOf('.') + 1) + guard : guard;
        s.execute("CREATE OR REPLACE FUNCTION " + function + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                + "RAISE EXCEPTION '" + what + " table % is append-only: % refused', TG_TABLE_NAME, TG_OP "
                + "USING ERRCODE = '42501'; END $$");
        s.execute("DROP TRIGGER IF EXISTS " + guard + rowTrigger + " ON " + table);
        s.execute("CREATE TRIGGER " + guard + rowTrigger + " BEFORE UPDATE OR DELETE ON " + table
                + " FOR EACH ROW EXECUTE FUNCTION " + function + "()");
        if (truncate) {
            s.execute("DROP TRIGGER IF EXISTS " + guard + "_truncate ON " + table);
            s.execute("CREATE TRIGGER " + guard + "_truncate BEFORE TRUNCATE ON " + table
                    + " FOR EACH STATEMENT EXECUTE FUNCTION " + function + "()");
        }
    }

    /** The driver's message with its SQLSTATE, for logs and refusals. */
    public static String message(SQLException e) {
        String state = e.getSQLState() == null ? "" : " (SQLSTATE " + e.getSQLState() + ")";
        return e.getMessage() + state;
    }
}
