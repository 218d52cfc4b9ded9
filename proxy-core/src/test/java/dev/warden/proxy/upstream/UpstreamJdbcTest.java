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
            String database = pg.createDatabase("own_connections");
            try (Connection admin = pg.connect(database); Statement s = admin.createStatement()) {
                s.execute("ALTER DATABASE " + database + " SET jit = on");
                s.execute("ALTER DATABASE " + database + " SET lock_timeout = 0");
            }
            try (Connection plain = pg.connect(database)) {
                assertEquals("on", show(plain, "jit"), "a plain connection takes the database's setting");
                assertEquals("0", show(plain, "lock_timeout"));
            }
            Upstream upstream = new Upstream(pg.host(), pg.port(), database, pg.superuser(),
                    Secret.of(pg.superuserPassword()), TlsMode.DISABLE, Optional.empty(), Duration.ofSeconds(5),
                    true, "test");
            try (Connection own = UpstreamJdbc.open(upstream, "warden-catalog")) {
                assertEquals("off", show(own, "jit"));
                assertEquals("5s", show(own, "lock_timeout"));
                assertEquals("warden-catalog", show(own, "application_name"));
            }
        }
    }

    private static String show(Connection c, String setting) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
