package dev.warden.proxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.warden.config.Secret;
import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import dev.warden.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Warden's own connections (catalog reads, privilege checks, provisioning) against a real PostgreSQL: they run
 * without JIT and with a lock timeout, whatever the database or the login sets. The transparency run found why
 * JIT matters: on the regression database the catalog's relation query is costed above {@code jit_above_cost},
 * so each run compiled for about 400 ms what then ran in 10 ms, and a DDL-heavy session waited on it after
 * every change (PostgreSQL's {@code foreign_key} file timed out).
 */
class UpstreamJdbcTest {

    @Test
    void wardensOwnConnectionsRunWithoutJitAndWithALockTimeoutWhateverTheDatabaseSets() throws Exception {
        try (TestPostgres pg = TestPostgres.start()) {
            String database = databaseSetting(pg, "own_connections", "jit = on", "lock_timeout = 0");
            try (Connection plain = pg.connect(database)) {
                assertEquals("on", show(plain, "jit"), "a plain connection takes the database's setting");
                assertEquals("0", show(plain, "lock_timeout"));
            }
            Upstream upstream = upstream(pg, database);
            try (Connection own = UpstreamJdbc.open(upstream, "warden-catalog")) {
                assertEquals("off", show(own, "jit"));
                assertEquals("5s", show(own, "lock_timeout"));
                assertEquals("warden-catalog", show(own, "application_name"));
            }
        }
    }

    /**
     * Warden's side connections ask the server to probe them (30 s idle, then every 10 s, 3 unanswered): a Warden
     * gone behind a partition must not leave its backends, and their locks, for the kernel's two hours. Both ways
     * of asking are read back from a real server: the startup options of the catalog's connection, and the SETs of
     * the audit sink's and witness's, which a pooler in front of the server would let through. The database sets
     * other values, which a plain connection takes.
     */
    @Test
    void sideConnectionsHaveTheServerProbeThemWhateverTheDatabaseSets() throws Exception {
        try (TestPostgres pg = TestPostgres.start()) {
            String database = databaseSetting(pg, "own_keepalives", "tcp_keepalives_idle = 7200",
                    "tcp_keepalives_interval = 75", "tcp_keepalives_count = 9");
            try (Connection plain = pg.connect(database)) {
                assertEquals("7200", show(plain, "tcp_keepalives_idle"), "a plain connection takes the database's");
            }
            Upstream upstream = upstream(pg, database);
            try (Connection own = UpstreamJdbc.open(upstream, "warden-catalog")) {
                assertKeepalives(own);
            }
            Secret url = Secret.of("jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/" + database + "?user="
                    + pg.superuser() + "&password=" + pg.superuserPassword());
            try (Connection sink = dev.warden.audit.sink.AppendOnlyTables.connect(url, "warden-audit")) {
                assertKeepalives(sink);
                assertEquals("25s", show(sink, "statement_timeout"), "cancelled 5 s before the driver gives up");
            }
        }
    }

    /** A new database whose own settings ({@code ALTER DATABASE ... SET}) are {@code settings}. */
    private static String databaseSetting(TestPostgres pg, String name, String... settings) throws Exception {
        String database = pg.createDatabase(name);
        try (Connection admin = pg.connect(database); Statement s = admin.createStatement()) {
            for (String setting : settings) {
                s.execute("ALTER DATABASE " + database + " SET " + setting);
            }
        }
        return database;
    }

    private static Upstream upstream(TestPostgres pg, String database) {
        return new Upstream(pg.host(), pg.port(), database, pg.superuser(), Secret.of(pg.superuserPassword()),
                TlsMode.DISABLE, Optional.empty(), Duration.ofSeconds(5), true, "test");
    }

    private static void assertKeepalives(Connection c) throws Exception {
        assertEquals("30", show(c, "tcp_keepalives_idle"));
        assertEquals("10", show(c, "tcp_keepalives_interval"));
        assertEquals("3", show(c, "tcp_keepalives_count"));
    }

    private static String show(Connection c, String setting) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
