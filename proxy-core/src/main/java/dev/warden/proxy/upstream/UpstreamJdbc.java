package dev.warden.proxy.upstream;

import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * A JDBC connection as Warden's own upstream login ({@code upstream.user}), with the environment's TLS mode.
 * Warden's side work uses it: catalog reads, privilege checks, per-identity role provisioning. It blocks, so
 * it is only ever opened off the event loops.
 */
public final class UpstreamJdbc {

    private UpstreamJdbc() {
    }

    public static Connection open(Upstream u, String applicationName) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", u.user());
        if (!u.password().isEmpty()) {
            props.setProperty("password", u.password().reveal());
        }
        props.setProperty("sslmode", u.tls() == TlsMode.DISABLE ? "disable"
                : u.tls() == TlsMode.REQUIRE ? "require" : "verify-full");
        u.rootCert().ifPresent(p -> props.setProperty("sslrootcert", p.toString()));
        props.setProperty("ApplicationName", applicationName);
        // Warden's own reads must never wait behind a lock a session holds (ALTER TABLE in an open transaction,
        // then a SELECT that Warden has to look up): they fail, and the session fails closed, instead of hanging.
        // And they are small catalog queries the planner may cost high (many unions over pg_depend): JIT would
        // compile each for hundreds of milliseconds that running it takes a few of (jit_above_cost is a cost,
        // not a time), and every catalog change runs them again.
        // And search_path is pg_catalog alone: an identity that may create in a schema on the default path
        // ("$user", public) could otherwise plant an operator or function that resolves better than pg_catalog's
        // for one of these queries (=(name, varchar) for "rolname = ?", a varchar parameter), whose body would then
        // run as this login, with its CREATEROLE and ADMIN OPTION on the mapped roles. Warden's queries name
        // relations by schema or oid; pg_temp (searched first for relations) is this connection's own.
        // And row_security is off: the one user relation Warden reads (a materialized view's row, by a name another
        // session may have reused for a table since) must never run a row security policy's expression as this
        // login; with it off, a read such a policy would filter fails instead.
        // And no query of Warden's runs longer than upstream.query_timeout: all of them are side work some session
        // waits for, most under a lock every session of the environment shares (one catalog connection). The
        // server cancels one that runs longer; a connection that stays silent 5 s past that (a backend that stopped,
        // a network that drops packets without a reset) is given up by the driver, and the next read opens another.
        // And plans are generic: the driver prepares each of Warden's queries once on the connection, but the server
        // planned the big catalog queries again at every Bind (custom plans for each new array of names, 10 to 40 ms
        // each, most of the time a DDL statement spent in Warden); a generic plan is made once per connection.
        // And keepalives both ways: a server whose Warden went away behind a partition ends the backend (and its
        // session-level advisory locks: RoleProvisioner) in about a minute, not the kernel's two hours.
        long queryMillis = Math.max(1, u.queryTimeout().toMillis());
        StringBuilder options = new StringBuilder("-c lock_timeout=5000 -c jit=off -c search_path=pg_catalog "
                + "-c row_security=off -c plan_cache_mode=force_generic_plan -c statement_timeout=").append(queryMillis);
        dev.warden.audit.sink.AppendOnlyTables.KEEPALIVES.forEach((name, value) -> options.append(" -c ").append(name)
                .append('=').append(value));
        props.setProperty("options", options.toString());
        props.setProperty("socketTimeout", Long.toString((queryMillis + 999) / 1000 + 5));
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("connectTimeout", Long.toString(Math.max(1, u.connectTimeout().toSeconds())));
        return DriverManager.getConnection("jdbc:postgresql://" + u.host() + ":" + u.port() + "/"
                + u.database(), props);
    }
}
