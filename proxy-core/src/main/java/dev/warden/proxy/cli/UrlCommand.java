package dev.warden.proxy.cli;

import dev.warden.proxy.login.CachedLogin;
import dev.warden.proxy.login.ClientProfile;
import dev.warden.proxy.login.ConnectionPlan;
import dev.warden.proxy.login.LoginException;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "url", mixinStandardHelpOptions = true,
        description = {"Print a connection string for a Warden environment, without the token.",
                "Pass the token as the password: PGPASSWORD=$(warden token) psql \"$(warden url prod)\".",
                "Exit codes: 0 printed, 1 not logged in (the user name comes from the token), 2 no issuer."})
final class UrlCommand implements Callable<Integer> {

    @Mixin
    LoginOptions options;

    @Mixin
    ConnectionOptions connection;

    @Parameters(index = "0", paramLabel = "ENV", description = "Warden environment (the database name).")
    String environment;

    @ArgGroup(exclusive = true)
    Format format = new Format();

    static final class Format {
        @Option(names = "--libpq", description = "A libpq keyword/value string (the default).")
        boolean libpq;

        @Option(names = "--jdbc", description = "A pgJDBC URL.")
        boolean jdbc;
    }

    @Override
    public Integer call() {
        ClientProfile profile;
        String issuer;
        try {
            profile = options.profile();
            issuer = profile.requireIssuer();
        } catch (LoginException e) {
            System.err.println("warden url: " + e.getMessage());
            return 2;
        }
        try {
            ConnectionPlan plan = connection.plan(profile, environment,
                    CachedLogin.current(options.cache(), options.client(), issuer));
            System.out.println(format.jdbc ? plan.jdbc() : plan.libpq());
            System.err.println("(the password is the token: PGPASSWORD=$(warden token))");
            return 0;
        } catch (LoginException e) {
            System.err.println("warden url: " + e.getMessage());
            return 1;
        }
    }
}
