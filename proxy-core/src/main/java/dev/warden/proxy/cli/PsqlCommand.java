package dev.warden.proxy.cli;

import dev.warden.proxy.login.CachedLogin;
import dev.warden.proxy.login.ClientProfile;
import dev.warden.proxy.login.ConnectionPlan;
import dev.warden.proxy.login.LoginException;
import dev.warden.proxy.login.TokenSet;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "psql", mixinStandardHelpOptions = true, modelTransformer = PsqlCommand.PassThrough.class,
        description = {"Run psql against a Warden environment as the logged-in user.",
                "The database is ENV, the user the token's user claim, sslmode=require; the token goes in",
                "PGPASSWORD, never on the command line. Everything after ENV is passed to psql unchanged,",
                "so Warden options come first: warden psql --host warden.corp prod -c 'select 1'.",
                "Exit codes: psql's own; 1 when not logged in or psql cannot be started; 2 no issuer."})
final class PsqlCommand implements Callable<Integer> {

    @Mixin
    LoginOptions options;

    @Mixin
    ConnectionOptions connection;

    @Parameters(index = "0", paramLabel = "ENV", description = "Warden environment (the database name).")
    String environment;

    @Parameters(index = "1..*", paramLabel = "PSQL_ARGS", description = "Arguments for psql.")
    List<String> psqlArguments = new ArrayList<>();

    /** Which psql to run; tests and unusual installs may point elsewhere. */
    String psql = System.getenv().getOrDefault("WARDEN_PSQL", "psql");

    @Override
    public Integer call() {
        ClientProfile profile;
        String issuer;
        try {
            profile = options.profile();
            issuer = profile.requireIssuer();
        } catch (LoginException e) {
            System.err.println("warden psql: " + e.getMessage());
            return 2;
        }
        try {
            TokenSet tokens = CachedLogin.current(options.cache(), options.client(), issuer);
            ConnectionPlan plan = connection.plan(profile, environment, tokens);
            ProcessBuilder builder = new ProcessBuilder(plan.psqlCommand(psql, psqlArguments)).inheritIO();
            builder.environment().putAll(plan.psqlEnvironment(connection.password(tokens)));
            Process process = builder.start();
            try {
                return process.waitFor();
            } catch (InterruptedException e) {
                process.destroy();
                Thread.currentThread().interrupt();
                return 130;
            }
        } catch (LoginException e) {
            System.err.println("warden psql: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            System.err.println("warden psql: cannot run " + psql + ": " + e.getMessage()
                    + " (install the PostgreSQL client, or set WARDEN_PSQL)");
            return 1;
        }
    }

    /** After ENV every argument, options included, belongs to psql. */
    static final class PassThrough implements CommandLine.IModelTransformer {
        @Override
        public CommandLine.Model.CommandSpec transform(CommandLine.Model.CommandSpec spec) {
            spec.parser().stopAtPositional(true).unmatchedOptionsArePositionalParams(true);
            return spec;
        }
    }
}
