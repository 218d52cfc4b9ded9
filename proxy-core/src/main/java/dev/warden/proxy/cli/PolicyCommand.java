package dev.warden.proxy.cli;

import dev.warden.config.Policy;
import dev.warden.config.PolicyException;
import dev.warden.config.PolicyLoader;
import dev.warden.config.Environment;
import dev.warden.proxy.privilege.PrivilegeCheck;
import dev.warden.proxy.upstream.UpstreamJdbc;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "policy", mixinStandardHelpOptions = true, description = "Work with policy files.",
        subcommands = PolicyCommand.Check.class)
final class PolicyCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Validate a policy file; prints file:line:column errors and exits 2 if invalid. With "
                    + "--connect, also checks each environment's database roles and exits 1 on findings.")
    static final class Check implements Callable<Integer> {

        @Parameters(paramLabel = "FILE", description = "Policy YAML file.")
        Path file;

        @Option(names = "--connect", description = "Connect to each environment as its upstream user and report, "
                + "with file:line, mapped roles that do not exist, superusers, and missing LOGIN or CREATEROLE.")
        boolean connect;

        @Override
        public Integer call() {
            Policy policy;
            try {
                policy = PolicyLoader.load(file);
            } catch (PolicyException e) {
                System.err.println(e.getMessage());
                return 2;
            }
            for (String warning : policy.warnings()) {
                System.err.println(warning + " (warning)");
            }
            System.out.println(file + ": OK (" + policy.environments().size() + " environments, "
                    + policy.issuers().size() + " issuers, version " + policy.versionHash().substring(0, 12) + ")");
            if (!connect) {
                return 0;
            }
            int problems = 0;
            for (Environment env : policy.environments().values()) {
                problems += checkRoles(env);
            }
            return problems == 0 ? 0 : 1;
        }

        /** Prints the environment's findings; returns how many are problems (not allowed superusers count). */
        private static int checkRoles(Environment env) {
            List<PrivilegeCheck.Finding> findings;
            try (Connection c = UpstreamJdbc.open(env.upstream(), "warden-policy-check")) {
                findings = PrivilegeCheck.findings(c, env);
            } catch (SQLException e) {
                System.err.println(env.upstream().userOrigin() + ": environment \"" + env.name()
                        + "\": cannot connect as upstream user \"" + env.upstream().user() + "\": " + e.getMessage());
                return 1;
            }
            int problems = 0;
            for (PrivilegeCheck.Finding f : findings) {
                if (f.superuser() && env.upstream().allowSuperuser()) {
                    System.err.println(f + " (warning: allowed by allow_superuser: true)");
                } else {
                    System.err.println(f);
                    problems++;
                }
            }
            if (findings.isEmpty()) {
                System.out.println("environment \"" + env.name() + "\": database roles OK");
            }
            return problems;
        }
    }
}
