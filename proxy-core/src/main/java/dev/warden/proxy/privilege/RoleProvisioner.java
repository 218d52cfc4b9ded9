package dev.warden.proxy.privilege;

import dev.warden.config.Environment;
import dev.warden.config.RoleMapping;
import dev.warden.config.RoleRule;
import dev.warden.config.Secret;
import dev.warden.config.Upstream;
import dev.warden.proxy.upstream.UpstreamJdbc;
import dev.warden.proxy.upstream.UpstreamLogin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Creates or updates the identity's own login role in one environment, as the upstream user (which needs
 * CREATEROLE and, from PostgreSQL 16, ADMIN OPTION on the mapped roles; never superuser), and returns the login
 * for it: a new random password each time, stored as a SCRAM verifier that is valid for {@link #PASSWORD_LIFETIME}
 * only, so the password exists in Warden's memory for one login and nowhere else.
 *
 * <p>The role is granted exactly one of the environment's mapped roles, the one the policy chose: memberships in
 * the other mapped roles are revoked (a person moved from the dba group loses the admin role at the next login).
 * Memberships an administrator granted outside the role map are left alone. A role of that name that Warden did
 * not create for this identity (its comment says so) is never taken over. One JDBC connection, one call at a time.
 */
final class RoleProvisioner implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RoleProvisioner.class);

    /**
     * Long enough for the login that follows and for clock skew between Warden and the server, no longer; the
     * password is expired as soon as that login has finished ({@link #expireAndUnlock}).
     */
    static final Duration PASSWORD_LIFETIME = Duration.ofMinutes(10);
    static final String COMMENT_PREFIX = "warden per-identity role of ";
    /**
     * The comment of a role named by {@code role_names: opaque}: it names no one (the name, a keyed hash of issuer
     * and user name, already belongs to one identity); a role of that name with another comment is not Warden's.
     */
    static final String OPAQUE_COMMENT = "warden per-identity role (opaque name)";

    /** Where provisioning runs and its advisory locks live: {@link #open}. */
    static final String MAINTENANCE_DATABASE = "postgres";
    /**
     * What the server answers a login it will not admit to a database (no pg_hba.conf entry, a password the
     * entry there does not take, no CONNECT privilege, no such database), as opposed to a server that cannot be
     * reached: those, and only those, send provisioning to the environment's own database.
     */
    private static final Set<String> NOT_ADMITTED = Set.of("28000", "28P01", "42501", "3D000");

    private final Environment environment;
    private Connection connection;

    RoleProvisioner(Environment environment) {
        this.environment = environment;
    }

    Environment environment() {
        return environment;
    }

    /** A login for the identity's role, and the login settings reset on the way (null: none were). */
    record Provisioned(UpstreamLogin login, SettingsReset settingsReset) {
    }

    /** Blocks: run it on the blocking executor. */
    synchronized Provisioned provision(String username, String issuer, RoleRule rule, int connectionLimit)
            throws SQLException {
        RoleMapping roles = environment.roles().orElseThrow();
        String role = RoleNames.forIdentity(roles, username, issuer);
        String password = ScramVerifier.randomPassword();
        String verifier = ScramVerifier.of(password);
        Connection c = connection();
        try {
            lock(c, role);
            c.commit();
        } catch (SQLException | RuntimeException e) {
            rollback();
            throw e;
        }
        SettingsReset reset;
        try {
            reset = provision(c, roles, role, username, issuer, rule.role(), verifier, connectionLimit);
            c.commit();
        } catch (SQLException | RuntimeException e) {
            rollback();
            unlock(role);
            throw e;
        }
        return new Provisioned(new UpstreamLogin(role, Secret.of(password)), reset);
    }

    /**
     * Other Warden replicas may log the same identity in at the same moment, and each login changes the password:
     * a session-level advisory lock on the role name, held from the change until {@link #expireAndUnlock} after the
     * login, makes them take turns (a broken connection drops the lock, never leaving it held). It is taken in the
     * database {@link #open} chose, so that it orders logins to every database of the server.
     */
    private static void lock(Connection c, String role) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.pg_advisory_lock(?)")) {
            ps.setLong(1, lockKey(role));
            ps.execute();
        }
    }

    /**
     * Ends the turn {@link #provision} took; called once the login with the new password has finished, whether or
     * not it succeeded. First the role's password stops being valid: a role may always change its own password
     * (PostgreSQL lets it without CREATEROLE), and one the identity chose would otherwise let it log in directly,
     * around Warden, until the VALID UNTIL of its last login. VALID UNTIL it cannot change; the next login through
     * Warden sets a new password and a new VALID UNTIL. Still holding the turn, so no other login of the identity
     * (here or on another replica) has set its own password in between.
     */
    synchronized void expireAndUnlock(String role) {
        try {
            Connection c = connection();
            expire(c, role);
            // Committed before the turn ends: the next login's ALTER ROLE of the same row would otherwise fail
            // ("tuple concurrently updated").
            c.commit();
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.pg_advisory_unlock(?)")) {
                ps.setLong(1, lockKey(role));
                ps.execute();
            }
            c.commit();
        } catch (SQLException | RuntimeException e) {
            // The lock went with the connection, or goes with it now; the password must still be expired.
            close();
            try {
                expire(connection(), role);
                connection.commit();
            } catch (SQLException | RuntimeException again) {
                rollback();
                log.warn("role.expire_failed env={} role={} reason=\"{}\": its password stays valid until its "
                        + "VALID UNTIL ({} after the login)", environment.name(), role, again.getMessage(),
                        PASSWORD_LIFETIME);
            }
        }
    }

    /** Ends a turn whose provisioning failed: nothing was changed, and the role may not be Warden's to expire. */
    private void unlock(String role) {
        try {
            if (connection != null && !connection.isClosed()) {
                try (PreparedStatement ps = connection.prepareStatement("SELECT pg_catalog.pg_advisory_unlock(?)")) {
                    ps.setLong(1, lockKey(role));
                    ps.execute();
                }
                connection.commit();
            }
        } catch (SQLException e) {
            close();
        }
    }

    private static void expire(Connection c, String role) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("ALTER ROLE " + identifier(role) + " VALID UNTIL '-infinity'");
        }
    }

    private static long lockKey(String role) {
        long key = 0x5741524445_4EL; // "WARDEN": keeps Warden's keys apart from an application's small numbers
        for (byte b : role.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            key = key * 31 + b;
        }
        return key;
    }

    /** @return the login settings reset, or null when the role had none (or only ones Warden cannot reset) */
    private SettingsReset provision(Connection c, RoleMapping roles, String role, String username, String issuer,
                                    String mapped, String verifier, int connectionLimit) throws SQLException {
        SettingsReset reset = null;
        String validUntil = literal(Instant.now().plus(PASSWORD_LIFETIME).toString());
        // The role belongs to the user name as one issuer vouches for it: with several issuers trusted, another
        // one's token for the same name (an IdP where anyone may choose that e-mail) must not get this role.
        // An opaque name holds the issuer already, and its comment names no one: no legacy form to claim.
        String legacy = roles.opaqueNames() ? null : COMMENT_PREFIX + username;
        String comment = roles.opaqueNames() ? OPAQUE_COMMENT : legacy + " from issuer " + issuer;
        try (Statement s = c.createStatement()) {
            Existing existing = existing(c, role);
            if (existing == null) {
                s.execute("CREATE ROLE " + identifier(role) + " LOGIN INHERIT PASSWORD " + literal(verifier)
                        + " VALID UNTIL " + validUntil + " CONNECTION LIMIT " + connectionLimit);
                s.execute("COMMENT ON ROLE " + identifier(role) + " IS " + literal(comment));
                log.info("role.created env={} role={} mapped={}", environment.name(), role, mapped);
            } else {
                if (legacy != null && existing.comment() != null
                        && existing.comment().startsWith(legacy + " from issuer ")
                        && !comment.equals(existing.comment())) {
                    throw new ProvisioningException("role \"" + role + "\" of environment \"" + environment.name()
                            + "\" belongs to " + username + " of another issuer ("
                            + existing.comment().substring((legacy + " from issuer ").length()) + "); a user name "
                            + "of issuer " + issuer + " does not take it over");
                }
                if (legacy != null && legacy.equals(existing.comment())) {
                    // Made before roles named their issuer: the first login since then claims it.
                    s.execute("COMMENT ON ROLE " + identifier(role) + " IS " + literal(comment));
                    log.info("role.issuer_recorded env={} role={} issuer={}", environment.name(), role, issuer);
                } else if (!comment.equals(existing.comment())) {
                    throw new ProvisioningException("role \"" + role + "\" exists in environment \""
                            + environment.name() + "\" but was not created by Warden for " + username
                            + "; Warden does not take over roles it did not make (drop or rename it)");
                }
                if (existing.elevated()) {
                    throw new ProvisioningException("role \"" + role + "\" has SUPERUSER, CREATEROLE, CREATEDB, "
                            + "REPLICATION or BYPASSRLS, which Warden never gives an identity's role; remove them");
                }
                s.execute("ALTER ROLE " + identifier(role) + " LOGIN INHERIT PASSWORD " + literal(verifier)
                        + " VALID UNTIL " + validUntil + " CONNECTION LIMIT " + connectionLimit);
                if (!existing.settingsIn().isEmpty()) {
                    reset = resetSettings(c, s, role, existing.settingsIn());
                }
            }
            Set<String> mappedRoles = roles.rules().stream().map(RoleRule::role).collect(Collectors.toSet());
            boolean granted = false;
            for (String member : memberships(c, role)) {
                if (member.equals(mapped)) {
                    granted = true;
                } else if (mappedRoles.contains(member)) {
                    s.execute("REVOKE " + identifier(member) + " FROM " + identifier(role));
                    log.info("role.revoked env={} role={} from={}", environment.name(), role, member);
                }
            }
            if (!granted) {
                s.execute("GRANT " + identifier(mapped) + " TO " + identifier(role));
                log.info("role.granted env={} role={} mapped={}", environment.name(), role, mapped);
            }
        }
        return reset;
    }

    /**
     * @param settingsIn the databases the role has login settings for ({@code pg_db_role_setting}; null: in every
     *     database), usually none
     */
    private record Existing(String comment, boolean elevated, List<String> settingsIn) {
    }

    /** The role, if it exists; its login settings come with it, in the same query, so a login without any pays nothing. */
    private static Existing existing(Connection c, String role) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.shobj_description(r.oid, 'pg_authid'), "
                + "r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls, "
                + "ARRAY(SELECT d.datname FROM pg_catalog.pg_db_role_setting s LEFT JOIN pg_catalog.pg_database d "
                + "ON d.oid = s.setdatabase WHERE s.setrole = r.oid) "
                + "FROM pg_catalog.pg_roles r WHERE r.rolname = ?")) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                java.sql.Array databases = rs.getArray(3);
                List<String> settingsIn = java.util.Arrays.asList((String[]) databases.getArray());
                databases.free();
                return new Existing(rs.getString(1), rs.getBoolean(2), settingsIn);
            }
        }
    }

    /**
     * Resets the login settings of an identity's role: a role may set its own ({@code ALTER ROLE CURRENT_USER SET
     * ...}, which the baseline refuses but a policy may allow), and the server applies them at the next login,
     * before Warden sees a statement: {@code local_preload_libraries = 'x'} made every later login fail until an
     * administrator reset the role, a {@code search_path} pointed later sessions at the identity's own objects. The
     * policy gives these roles none, so any found are removed before the login. What remains is what Warden's
     * login may not reset (a setting only a superuser may make, made by one): logged, not refused. The settings as
     * found, values included, go to the session's audit trail (someone planted them); null when none could be reset.
     */
    private SettingsReset resetSettings(Connection c, Statement s, String role, List<String> databases)
            throws SQLException {
        Map<String, List<String>> found = settings(c, role);
        for (String database : databases) {
            s.execute("ALTER ROLE " + identifier(role) + (database == null ? "" : " IN DATABASE "
                    + identifier(database)) + " RESET ALL");
        }
        Map<String, List<String>> left = settings(c, role);
        List<String> where = databases.stream().map(d -> d == null ? "*" : d).toList();
        if (left.isEmpty()) {
            log.warn("role.settings_reset env={} role={} databases={}", environment.name(), role, where);
        } else {
            log.warn("role.settings_reset env={} role={} databases={} left={}: set by a superuser, Warden's login "
                    + "may not reset them", environment.name(), role, where, left.entrySet().stream()
                    .map(e -> (e.getKey().isEmpty() ? "*" : e.getKey()) + ": " + String.join(", ", e.getValue().stream()
                            .map(setting -> setting.split("=", 2)[0]).toList())).toList());
        }
        // Only a superuser's settings, already on record at an earlier login: nothing was reset this time.
        return found.equals(left) ? null : new SettingsReset(role, found, left);
    }

    /**
     * The role's login settings, {@code name=value} as the server stores them, by database ({@code ""}: the row
     * for every database; no database may have an empty name).
     */
    private static Map<String, List<String>> settings(Connection c, String role) throws SQLException {
        Map<String, List<String>> out = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(d.datname, ''), s.setconfig "
                + "FROM pg_catalog.pg_db_role_setting s LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase "
                + "WHERE s.setrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ?)")) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    java.sql.Array config = rs.getArray(2);
                    List<String> values = config == null ? List.of() : List.of((String[]) config.getArray());
                    if (config != null) {
                        config.free();
                    }
                    out.put(rs.getString(1), values);
                }
            }
        }
        return out;
    }

    private static List<String> memberships(Connection c, String role) throws SQLException {
        return column(c, "SELECT g.rolname FROM pg_catalog.pg_auth_members m "
                + "JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles r ON r.oid = m.member "
                + "WHERE r.rolname = ?", role);
    }

    /** The first column of {@code sql}'s rows, its one parameter the role's name. */
    private static List<String> column(Connection c, String sql, String role) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    private Connection connection() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = open();
            try (Statement s = connection.createStatement()) {
                // literal() doubles quotes and relies on this; it is the default since PostgreSQL 9.1.
                s.execute("SET standard_conforming_strings = on");
                // A replica that holds an identity's turn finishes in milliseconds; never wait without end.
                s.execute("SET lock_timeout = '10s'");
            }
            connection.setAutoCommit(false);
        }
        return connection;
    }

    /**
     * A role, its password and everything else provisioning reads or changes belong to the cluster, not to one
     * database; the advisory lock that makes replicas take turns does not: PostgreSQL keeps advisory locks per
     * database. Two replicas provisioning one identity for prod and for staging, two databases of one server, each
     * locked in its own database and overwrote the other's password before it was used (a security pass, F1). So
     * the provisioner works in the server's {@value #MAINTENANCE_DATABASE} database, the one every environment of
     * that server shares. Where the login may not connect to it (pg_hba.conf, CONNECT revoked, dropped) it works in
     * the environment's database as before, and says so: replicas' logins of one identity to two databases of that
     * server may then refuse one another.
     */
    private Connection open() throws SQLException {
        Upstream u = environment.upstream();
        if (!u.database().equals(MAINTENANCE_DATABASE)) {
            try {
                return UpstreamJdbc.open(new Upstream(u.host(), u.port(), MAINTENANCE_DATABASE, u.user(),
                        u.password(), u.tls(), u.rootCert(), u.connectTimeout(), u.allowSuperuser(), u.userOrigin(),
                        u.catalogChannel(), u.queryTimeout()), "warden-provisioner");
            } catch (SQLException e) {
                if (!NOT_ADMITTED.contains(String.valueOf(e.getSQLState()))) {
                    throw e;
                }
                log.warn("role.provisioner_database env={} database={} reason=\"{}\": provisioning in the environment's "
                        + "database; replicas then order logins of one identity to this database only",
                        environment.name(), u.database(), e.getMessage());
            }
        }
        return UpstreamJdbc.open(u, "warden-provisioner");
    }

    private void rollback() {
        try {
            if (connection != null) {
                connection.rollback();
            }
        } catch (SQLException e) {
            close();
        }
    }

    /** A quoted identifier; role names come from the policy or {@link RoleNames}, never from SQL text. */
    static String identifier(String name) {
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("NUL in a role name");
        }
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    static String literal(String text) {
        if (text.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("NUL in a literal");
        }
        return "'" + text.replace("'", "''") + "'";
    }

    @Override
    public synchronized void close() {
        try {
            if (connection != null) {
                connection.close();
            }
        } catch (SQLException ignored) {
            // closing a broken connection
        }
        connection = null;
    }

    /** The role cannot be provisioned for a reason an administrator must fix; the login is refused. */
    static final class ProvisioningException extends dev.warden.proxy.upstream.LoginRefusedException {
        ProvisioningException(String message) {
            super(dev.warden.pg.SqlState.INVALID_AUTHORIZATION_SPECIFICATION, message);
        }
    }
}
