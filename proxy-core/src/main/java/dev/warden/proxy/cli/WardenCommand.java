package dev.warden.proxy.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code warden} command line. */
@Command(name = "warden", mixinStandardHelpOptions = true, versionProvider = WardenCommand.Version.class,
        description = "Identity-aware PostgreSQL proxy: OIDC login, guardrails, masking and audit.",
        subcommands = {ServeCommand.class, PolicyCommand.class, AuditCommand.class, ApprovalsCommand.class,
                dev.warden.proxy.demo.DemoCommand.class,
                LoginCommand.class, TokenCommand.class, PsqlCommand.class, UrlCommand.class,
                CommandLine.HelpCommand.class})
public final class WardenCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line without exiting the JVM (used by tests). */
    public static int run(String... args) {
        return new CommandLine(new WardenCommand()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = WardenCommand.class.getPackage().getImplementationVersion();
            return new String[] {"warden " + (v == null ? "development build" : v)};
        }
    }
}
