/**
 * Least privilege in the database itself: which PostgreSQL login a session uses, the per-identity roles Warden
 * provisions, and the checks that no upstream login is (or can become) a superuser.
 *
 * <p>{@link dev.warden.proxy.privilege.SessionLogins} chooses a session's login from the environment's role map
 * (first match wins; no match refuses the login); with {@code provision: per_identity} the
 * {@link dev.warden.proxy.privilege.RoleProvisioner} creates or updates the identity's own role (named by
 * {@link dev.warden.proxy.privilege.RoleNames}) with a fresh random password for every session, granted exactly
 * the mapped role, resets whatever login settings it has (pg_db_role_setting, which the server applies before Warden
 * sees a statement; read in the query that looks the role up; the session audits what was reset, which
 * {@link dev.warden.proxy.privilege.SessionLogins.Lease} carries to it), and expires that password once the session's login
 * has finished (a role may change its own password, never its VALID UNTIL). {@link dev.warden.proxy.privilege.PrivilegeCheck} reads the live catalog for
 * {@code warden policy check --connect} and for the start-up refusal of superuser logins.
 *
 * <p>Limits: provisioning and the checks use one JDBC connection per environment as the upstream user, on the
 * blocking executor, one at a time, so provisioning logins of one environment queue behind each other; logins
 * of the same identity take turns from the password change to the end of the upstream login, within one Warden
 * (a future chain per server and role) and across replicas (a PostgreSQL advisory lock on the role name, waited for
 * at most 10 s, taken in the server's {@code postgres} database so that it covers every database of the server; in
 * the environment's own where the login may not connect there, which orders replicas' logins to that one only).
 * Roles no longer used are left in place (see README).
 */
package dev.warden.proxy.privilege;
