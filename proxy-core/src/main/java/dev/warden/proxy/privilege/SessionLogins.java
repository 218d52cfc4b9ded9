package dev.warden.proxy.privilege;

import dev.warden.config.Environment;
import dev.warden.config.RoleMapping;
import dev.warden.config.RoleRule;
import dev.warden.identity.Identity;
import dev.warden.pg.SqlState;
import dev.warden.proxy.upstream.LoginRefusal;
import dev.warden.proxy.upstream.UpstreamException;
import dev.warden.proxy.upstream.UpstreamJdbc;
import dev.warden.proxy.upstream.UpstreamLogin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * Chooses the PostgreSQL login of each session: the upstream user when the environment maps no roles, the mapped
 * role itself ({@code provision: shared}), or the identity's own role, provisioned for this session
 * ({@code provision: per_identity}). Before an environment's first session, and at start-up, it checks that no
 * login the environment uses is or can become a superuser unless the policy says {@code allow_superuser: true}.
 */
public final class SessionLogins implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SessionLogins.class);

    /**
     * A login, what to call once the upstream login using it has finished (whether or not it succeeded), and the
     * login settings of the identity's role reset for it, if it had any (the session audits them).
     */
    public record Lease(UpstreamLogin login, Runnable release, Optional<SettingsReset> settingsReset) {

        Lease(UpstreamLogin login, Runnable release) {
            this(login, release, Optional.empty());
        }
    }

    private final Executor blocking;
    /** Environments whose logins passed the superuser check, by their whole configuration. */
    private final Map<Environment, CompletableFuture<Void>> verified = new ConcurrentHashMap<>();
    private final Map<String, RoleProvisioner> provisioners = new ConcurrentHashMap<>();
    /**
     * The last login in progress per provisioned role, by the server it lives on ({@link #turnKey}). A login changes
     * the role's password, so a second login of the same identity waits until the first has authenticated with its
     * password, whichever environment of that server either goes to.
     */
    private final Map<String, CompletableFuture<Void>> inFlight = new ConcurrentHashMap<>();

    public SessionLogins(Executor blocking) {
        this(blocking, () -> -1);
    }

    /**
     * @param connectionLimit the CONNECTION LIMIT each identity's role gets ({@code budgets.sessions.per_identity};
     *     -1: none): the server counts its backends, and one a client left whose statement traps the cancel
     *     still holds its slot (a helper's pass held 96 past a limit of 64 that way)
     */
    public SessionLogins(Executor blocking, java.util.function.IntSupplier connectionLimit) {
        this.blocking = blocking;
        this.connectionLimit = connectionLimit;
    }

    private final java.util.function.IntSupplier connectionLimit;

    /** Why {@code who} may not log in to {@code env} with these startup parameters, if they may not. */
    public Optional<LoginRefusal> refusal(Environment env, Identity who, Map<String, String> startupParameters) {
        Optional<String> roleOption = StartupRoleOptions.roleChange(startupParameters);
        if (roleOption.isPresent()) {
            return Optional.of(new LoginRefusal(SqlState.INSUFFICIENT_PRIVILEGE, "startup setting \""
                    + roleOption.get() + "\" would change the database role; Warden chooses the role from the policy"));
        }
        if (env.roles().isPresent() && rule(env, who).isEmpty()) {
            return Optional.of(new LoginRefusal(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, "no database role of "
                    + "environment \"" + env.name() + "\" is mapped for user \"" + who.username() + "\" ("
                    + (who.kind() == Identity.Kind.AGENT ? "agent" : "human") + ", groups " + who.groups()
                    + "): see environments." + env.name() + ".roles in the Warden policy"));
        }
        return Optional.empty();
    }

    /** The login for a session {@link #refusal} did not refuse; completes on the blocking executor or at once. */
    public CompletableFuture<Lease> acquire(Environment env, Identity who) {
        return verify(env).thenCompose(ok -> {
            RoleMapping roles = env.roles().orElse(null);
            if (roles == null) {
                return done(new UpstreamLogin(env.upstream().user(), env.upstream().password()));
            }
            RoleRule rule = rule(env, who).orElseThrow(() -> new UpstreamException("no role is mapped"));
            if (roles.provision() == RoleMapping.Provision.SHARED) {
                return done(new UpstreamLogin(rule.role(), rule.password()));
            }
            return provisioned(env, roles, who, rule);
        });
    }

    private CompletableFuture<Lease> provisioned(Environment env, RoleMapping roles, Identity who, RoleRule rule) {
        String role = RoleNames.forIdentity(roles, who.username(), who.issuer());
        String key = turnKey(env, role);
        CompletableFuture<Void> mine = new CompletableFuture<>();
        CompletableFuture<Void> previous = inFlight.put(key, mine);
        Runnable release = () -> {
            inFlight.remove(key, mine);
            mine.complete(null);
        };
        RoleProvisioner provisioner = provisioner(env);
        // The password is expired before the next login of the identity takes its turn: it sets a new one.
        Runnable releaseAfterLogin = () -> blocking.execute(() -> {
            try {
                provisioner.expireAndUnlock(role);
            } finally {
                release.run();
            }
        });
        CompletableFuture<Void> turn = previous == null ? CompletableFuture.completedFuture(null) : previous;
        return turn.thenApplyAsync(v -> {
            try {
                RoleProvisioner.Provisioned provisioned = provisioner.provision(who.username(), who.issuer(), rule,
                        connectionLimit.getAsInt());
                return new Lease(provisioned.login(), releaseAfterLogin,
                        Optional.ofNullable(provisioned.settingsReset()));
            } catch (SQLException e) {
                throw new UpstreamException("cannot provision the database role of \"" + who.username()
                        + "\" in environment \"" + env.name() + "\": " + e.getMessage(), e);
            }
        }, blocking).whenComplete((lease, failure) -> {
            if (failure != null) {
                release.run();
            }
        });
    }

    /**
     * A role is one row of the cluster's {@code pg_authid}, shared by every database on it: two environments that
     * are two databases of one server (prod and staging) change the same password, so their logins of one identity
     * take turns too. Keyed by environment, a staging login set the password while a prod login was about to
     * authenticate with the one before (28P01, or "tuple concurrently updated"; a security pass, F1). The server is
     * known by host and port as the policy writes them: two spellings of one server are two keys.
     */
    static String turnKey(Environment env, String role) {
        return env.upstream().host() + ':' + env.upstream().port() + '\0' + role;
    }

    private RoleProvisioner provisioner(Environment env) {
        return provisioners.compute(env.name(), (name, old) -> {
            if (old != null && old.environment().equals(env)) {
                return old;
            }
            if (old != null) {
                blocking.execute(old::close);
            }
            return new RoleProvisioner(env);
        });
    }

    private static CompletableFuture<Lease> done(UpstreamLogin login) {
        return CompletableFuture.completedFuture(new Lease(login, () -> { }));
    }

    private static Optional<RoleRule> rule(Environment env, Identity who) {
        return env.roles().flatMap(r -> r.ruleFor(who.username(), who.groups(), who.kind() == Identity.Kind.AGENT));
    }

    // ---- no silent superuser --------------------------------------------------------------------------------

    /**
     * Checks every environment now; throws if a login is or can become a superuser and the policy does not allow
     * it. An environment whose server cannot be reached yet is checked before its first session instead.
     */
    public void checkAtStartup(Collection<Environment> environments) {
        for (Environment env : environments) {
            if (env.roles().isEmpty()) {
                log.warn("environment={} has no roles map: every session logs in as upstream user {}, so PostgreSQL "
                        + "cannot tell identities apart (see \"Least privilege\" in the README)", env.name(),
                        env.upstream().user());
            }
            try {
                check(env);
                verified.put(env, CompletableFuture.completedFuture(null));
            } catch (SQLException e) {
                log.warn("privileges.unchecked env={} reason=\"{}\": checked again before the first session",
                        env.name(), e.getMessage());
            }
        }
    }

    private CompletableFuture<Void> verify(Environment env) {
        CompletableFuture<Void> result = verified.computeIfAbsent(env, e -> CompletableFuture.runAsync(() -> {
            try {
                check(e);
            } catch (SQLException x) {
                throw new UpstreamException("cannot check the database roles of environment \"" + e.name()
                        + "\": " + x.getMessage(), x);
            }
        }, blocking));
        // Only a pass is remembered: a refusal or an unreachable server is checked again at the next login.
        result.whenComplete((v, failure) -> {
            if (failure != null) {
                verified.remove(env, result);
            }
        });
        return result;
    }

    private static void check(Environment env) throws SQLException {
        List<PrivilegeCheck.Finding> findings;
        try (Connection c = UpstreamJdbc.open(env.upstream(), "warden-privilege-check")) {
            findings = PrivilegeCheck.findings(c, env);
        }
        List<PrivilegeCheck.Finding> superuser = findings.stream().filter(PrivilegeCheck.Finding::superuser).toList();
        for (PrivilegeCheck.Finding f : findings) {
            if (!f.superuser()) { // what would stop logins is found at them; the rest is said once per environment
                log.warn("privileges.finding env={} finding=\"{}\"", env.name(), f);
            }
        }
        if (superuser.isEmpty()) {
            return;
        }
        if (env.upstream().allowSuperuser()) {
            for (PrivilegeCheck.Finding f : superuser) {
                log.warn("privileges.superuser_allowed env={} finding=\"{}\": allow_superuser is true, so PostgreSQL "
                        + "will not stop what Warden's analysis misses", env.name(), f);
            }
            return;
        }
        throw new SuperuserRefusedException("environment \"" + env.name() + "\": " + superuser.get(0).message()
                + " (" + superuser.get(0).origin() + "); Warden refuses superuser logins unless the upstream says "
                + "allow_superuser: true");
    }

    @Override
    public void close() {
        provisioners.values().forEach(RoleProvisioner::close);
    }

    /** A login is or can become a superuser and the policy does not allow it. */
    public static final class SuperuserRefusedException extends RuntimeException {
        SuperuserRefusedException(String message) {
            super(message);
        }
    }
}
