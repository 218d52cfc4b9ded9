package dev.warden.audit.sink;

import dev.warden.config.Secret;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
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
        return connect(url, applicationName, 30);
    }

    /**
     * As above, giving up on a server silent for {@code socketTimeoutSeconds} during a read (a parameter of the same
     * name in the URL wins). Once connected, the server is told to cancel a statement 5 s before that (a lock wait
     * included: given up by Warden, it must not commit later), and to probe a silent client ({@link #KEEPALIVES}):
     * by SET, not by the startup packet's {@code options}, which a pooler in front of the server (PgBouncer) refuses.
     */
    public static Connection connect(Secret url, String applicationName, int socketTimeoutSeconds)
            throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("connectTimeout", "5");
        properties.setProperty("socketTimeout", Integer.toString(socketTimeoutSeconds));
        properties.setProperty("tcpKeepAlive", "true");
        properties.setProperty("ApplicationName", applicationName);
        Connection c = DriverManager.getConnection(url.reveal(), properties);
        try (Statement s = c.createStatement()) {
            StringBuilder set = new StringBuilder("SET statement_timeout = ")
                    .append(Math.max(1, socketTimeoutSeconds - 5) * 1000L);
            KEEPALIVES.forEach((name, value) -> set.append("; SET ").append(name).append(" = ").append(value));
            s.execute(set.toString());
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /**
     * The server's keepalives on a connection of Warden's (settable per session): first probe after 30 s idle, then
     * every 10 s, the connection given up after 3 unanswered. A server whose Warden went away behind a partition ends
     * the backend (its locks, a session-level advisory lock) in about a minute, not the kernel's two hours.
     */
    public static final java.util.Map<String, Integer> KEEPALIVES = java.util.Map.of("tcp_keepalives_idle", 30,
            "tcp_keepalives_interval", 10, "tcp_keepalives_count", 3);

    /**
     * {@code table} qualified with the schema the login's default search_path gives it (the schema of the table of
     * that name it finds, else the first schema of the path, where CREATE TABLE would put it), after which the
     * connection resolves every other name in pg_catalog alone. The table may live in a database where an identity
     * can create in a schema of this login's default path ({@code public}): an operator or function planted there
     * that matches these statements' arguments better than pg_catalog's would run as this login, which owns the
     * table and may drop its append-only triggers. Run with autocommit on, before any other statement.
     */
    public static String pinSearchPath(Connection c, String table) throws SQLException {
        try (Statement s = c.createStatement()) {
            String qualified = table;
            if (table.indexOf('.') < 0) {
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.quote_ident(COALESCE("
                        + "(SELECT n.nspname FROM pg_catalog.pg_class k JOIN pg_catalog.pg_namespace n "
                        + "ON n.oid = k.relnamespace WHERE k.oid = pg_catalog.to_regclass(?::pg_catalog.text)), "
                        + "pg_catalog.current_schema()))")) {
                    ps.setString(1, table);
                    try (ResultSet rs = ps.executeQuery()) {
                        String schema = rs.next() ? rs.getString(1) : null;
                        if (schema == null) {
                            throw new SQLException("no schema on the search_path of this login can hold table "
                                    + table + "; name it with its schema", "3F000");
                        }
                        qualified = schema + "." + table;
                    }
                }
            }
            s.execute("SET search_path = pg_catalog");
            return qualified;
        }
    }

    /**
     * Creates (or replaces) the function and triggers that refuse UPDATE and DELETE on {@code table} with 42501,
     * and TRUNCATE too when {@code truncate}. Run inside the set-up transaction, after its advisory lock.
     *
     * @param table      the name as configured, which names the guard function and triggers
     * @param qualified  the table's name as {@link #pinSearchPath} qualified it, used in the statements
     * @param what       names the table in the refusal ("audit", "witness")
     * @param rowTrigger the row trigger's name after the guard's ("" or "_rows": existing deployments keep theirs)
     */
    public static void refuseChanges(Statement s, String table, String qualified, String what, String rowTrigger,
            boolean truncate) throws SQLException {
        String guard = table.replace('.', '_') + "_append_only";
        String function = qualified.substring(0, qualified.indexOf('.') + 1) + guard;
        s.execute("CREATE OR REPLACE FUNCTION " + function + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                + "RAISE EXCEPTION '" + what + " table % is append-only: % refused', TG_TABLE_NAME, TG_OP "
                + "USING ERRCODE = '42501'; END $$");
        s.execute("DROP TRIGGER IF EXISTS " + guard + rowTrigger + " ON " + qualified);
        s.execute("CREATE TRIGGER " + guard + rowTrigger + " BEFORE UPDATE OR DELETE ON " + qualified
                + " FOR EACH ROW EXECUTE FUNCTION " + function + "()");
        if (truncate) {
            s.execute("DROP TRIGGER IF EXISTS " + guard + "_truncate ON " + qualified);
            s.execute("CREATE TRIGGER " + guard + "_truncate BEFORE TRUNCATE ON " + qualified
                    + " FOR EACH STATEMENT EXECUTE FUNCTION " + function + "()");
        }
    }

    /** The driver's message with its SQLSTATE, for logs and refusals. */
    public static String message(SQLException e) {
        String state = e.getSQLState() == null ? "" : " (SQLSTATE " + e.getSQLState() + ")";
        return e.getMessage() + state;
    }
}
