package dev.warden.proxy.privilege;

import dev.warden.config.Environment;
import dev.warden.config.RoleMapping;
import dev.warden.config.RoleRule;
import dev.warden.config.Upstream;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads the live catalog to find what would make an environment's logins stronger than the policy means them
 * to be, or unable to work: a login or mapped role that is a superuser or can become one, a mapped role that does
 * not exist, lacks LOGIN (shared) or cannot be granted by the upstream user (per_identity), an upstream user
 * without CREATEROLE or pg_signal_backend where provisioning needs them. Every finding carries the {@code file:line:column} to fix.
 */
public final class PrivilegeCheck {

    /** @param superuser the finding is about superuser power, which {@code allow_superuser} governs */
    public record Finding(String origin, String message, boolean superuser) {
        @Override
        public String toString() {
            return origin + ": " + message;
        }
    }

    /** A role's attributes as the checks need them; {@code canBecomeSuperuser} counts SET ROLE through membership. */
    private record RoleFacts(boolean exists, boolean superuser, boolean canBecomeSuperuser, boolean login,
                             boolean createRole, boolean grantable) {
        static final RoleFacts MISSING = new RoleFacts(false, false, false, false, false, false);
    }

    private static final String ROLE_FACTS = """
            SELECT r.rolsuper, EXISTS (SELECT 1 FROM pg_catalog.pg_roles s WHERE s.rolsuper AND s.oid <> r.oid
                                         AND pg_catalog.pg_has_role(r.oid, s.oid, 'MEMBER')),
                   r.rolcanlogin, r.rolcreaterole,
                   CASE WHEN pg_catalog.current_setting('server_version_num')::int < 160000
                        THEN (SELECT rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = current_user)
                        ELSE EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                                     JOIN pg_catalog.pg_roles me ON me.oid = m.member
                                     WHERE m.roleid = r.oid AND me.rolname = current_user AND m.admin_option)
                             OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) END
            FROM pg_catalog.pg_roles r WHERE r.rolname = ?""";

    private PrivilegeCheck() {
    }

    /** Every finding for {@code env}, read over {@code c}, a connection as the environment's upstream user. */
    public static List<Finding> findings(Connection c, Environment env) throws SQLException {
        List<Finding> out = new ArrayList<>();
        Upstream upstream = env.upstream();
        RoleMapping roles = env.roles().orElse(null);
        boolean perIdentity = roles != null && roles.provision() == RoleMapping.Provision.PER_IDENTITY;
        RoleFacts login = facts(c, upstream.user());
        superuserFindings(out, upstream.userOrigin(), "upstream user \"" + upstream.user() + "\"", login);
        if (perIdentity && !login.createRole() && !login.superuser()) {
            out.add(new Finding(upstream.userOrigin(), "upstream user \"" + upstream.user() + "\" lacks CREATEROLE, "
                    + "which provision: per_identity needs (ALTER ROLE \"" + upstream.user() + "\" CREATEROLE)", false));
        }
        if (perIdentity && !login.superuser() && !mayTerminateOthers(c)) {
            out.add(new Finding(upstream.userOrigin(), "upstream user \"" + upstream.user() + "\" lacks "
                    + "pg_signal_backend, which provision: per_identity needs to end an identity's statement that "
                    + "ignores a cancel when DDL committed through Warden reaches it; without it such a COMMIT is "
                    + "refused (ddl-commit-waits), and one identity can keep every other's DDL from committing "
                    + "(GRANT pg_signal_backend TO \"" + upstream.user() + "\")", false));
        }
        upstream.catalogChannel().ifPresent(channel -> out.addAll(catalogChannelFindings(c, channel)));
        if (roles == null) {
            return out;
        }
        Set<String> seen = new LinkedHashSet<>();
        for (RoleRule rule : roles.rules()) {
            if (!seen.add(rule.role())) {
                continue;
            }
            RoleFacts role = facts(c, rule.role());
            if (!role.exists()) {
                out.add(new Finding(rule.origin(), "role \"" + rule.role() + "\" does not exist in environment \""
                        + env.name() + "\" (CREATE ROLE \"" + rule.role() + "\"" + (perIdentity ? "" : " LOGIN")
                        + ")", false));
                continue;
            }
            superuserFindings(out, rule.origin(), "role \"" + rule.role() + "\"", role);
            if (!perIdentity && !role.login()) {
                out.add(new Finding(rule.origin(), "role \"" + rule.role() + "\" lacks LOGIN, which provision: shared "
                        + "needs: Warden logs in as it (ALTER ROLE \"" + rule.role() + "\" LOGIN)", false));
            }
            if (perIdentity && !role.grantable()) {
                out.add(new Finding(rule.origin(), "upstream user \"" + upstream.user() + "\" cannot grant role \""
                        + rule.role() + "\" (GRANT \"" + rule.role() + "\" TO \"" + upstream.user()
                        + "\" WITH ADMIN OPTION)", false));
            }
        }
        return out;
    }

    /**
     * A catalog channel nothing sends on: no enabled event trigger on {@code ddl_command_end} and on {@code sql_drop}
     * whose function names the channel (see {@code docker/initdb/20-catalog-notify.sql}). Warden then still sees DDL
     * made outside it only when its catalog entries expire.
     */
    public static List<Finding> catalogChannelFindings(Connection c, dev.warden.config.Upstream.CatalogChannel channel) {
        List<Finding> out = new ArrayList<>();
        Set<String> events = new LinkedHashSet<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT DISTINCT e.evtevent FROM pg_catalog.pg_event_trigger e "
                + "JOIN pg_catalog.pg_proc p ON p.oid = e.evtfoid WHERE e.evtenabled <> 'D' "
                + "AND pg_catalog.strpos(p.prosrc, ?) > 0")) {
            ps.setString(1, "'" + channel.name().replace("'", "''") + "'");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    events.add(rs.getString(1));
                }
            }
        } catch (SQLException e) {
            out.add(new Finding(channel.origin(), "cannot read the event triggers that send on catalog_channel \""
                    + channel.name() + "\": " + e.getMessage(), false));
            return out;
        }
        List<String> missing = new ArrayList<>();
        for (String event : List.of("ddl_command_end", "sql_drop")) {
            if (!events.contains(event)) {
                missing.add(event);
            }
        }
        if (!missing.isEmpty()) {
            out.add(new Finding(channel.origin(), "no enabled event trigger on " + String.join(" and ", missing)
                    + " sends on catalog_channel \"" + channel.name() + "\" (install docker/initdb/20-catalog-notify.sql "
                    + "as a superuser, with this channel's name): until then DDL made outside Warden is seen when "
                    + "its catalog entries expire (5 s)", false));
        }
        return out;
    }

    /** Whether the connection's login may terminate backends of roles it is not a member of. */
    private static boolean mayTerminateOthers(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'USAGE')");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    private static void superuserFindings(List<Finding> out, String origin, String who, RoleFacts facts) {
        if (facts.superuser()) {
            out.add(new Finding(origin, who + " is a superuser", true));
        } else if (facts.canBecomeSuperuser()) {
            out.add(new Finding(origin, who + " can SET ROLE to a superuser", true));
        }
    }

    private static RoleFacts facts(Connection c, String role) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(ROLE_FACTS)) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return RoleFacts.MISSING;
                }
                return new RoleFacts(true, rs.getBoolean(1), rs.getBoolean(2), rs.getBoolean(3), rs.getBoolean(4),
                        rs.getBoolean(5));
            }
        }
    }
}
