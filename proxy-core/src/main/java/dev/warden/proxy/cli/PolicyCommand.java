package dev.warden.proxy.cli;

import dev.warden.config.Policy;
import dev.warden.config.PolicyException;
import dev.warden.config.PolicyLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "policy", mixinStandardHelpOptions = true, description = "Work with policy files.",
        subcommands = PolicyCommand.Check.class)
final class PolicyCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Validate a policy file; prints file:line:column errors and exits 2 if invalid.")
    static final class Check implements Callable<Integer> {

        @Parameters(paramLabel = "FILE", description = "Policy YAML file.")
        Path file;

        @Override
        public Integer call() {
            try {
                Policy policy = PolicyLoader.load(file);
                System.out.println(file + ": OK (" + policy.environments().size() + " environments, "
                        + policy.issuers().size() + " issuers, version " + policy.versionHash().substring(0, 12) + ")");
                return 0;
            } catch (PolicyException e) {
                System.err.println(e.getMessage());
                return 2;
            }
        }
    }
}
