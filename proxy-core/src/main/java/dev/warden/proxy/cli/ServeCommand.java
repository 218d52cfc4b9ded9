package dev.warden.proxy.cli;

import dev.warden.config.Policy;
import dev.warden.config.PolicyException;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.PolicyWatcher;
import dev.warden.proxy.server.WardenServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run the proxy with a policy file until SIGTERM or SIGINT (graceful shutdown).")
final class ServeCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "Policy YAML file.")
    Path config;

    @Override
    public Integer call() throws Exception {
        Policy policy;
        try {
            policy = PolicyLoader.load(config);
        } catch (PolicyException e) {
            System.err.println("warden: invalid policy: " + e.getMessage());
            return 2;
        }
        WardenServer server;
        dev.warden.proxy.server.LeakDetection.forServing();
        try {
            server = WardenServer.start(policy);
        } catch (dev.warden.proxy.privilege.SessionLogins.SuperuserRefusedException e) {
            System.err.println("warden: refusing to start: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            System.err.println("warden: cannot listen on " + policy.listen().host() + ":" + policy.listen().port()
                    + ": " + e.getMessage());
            return 1;
        }
        PolicyWatcher watcher = PolicyWatcher.start(config, server);
        try {
            // SIGHUP reloads the policy, as for most Unix daemons.
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> watcher.reloadNow());
        } catch (IllegalArgumentException e) {
            System.err.println("warden: SIGHUP is not available here; the policy file is still watched");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            watcher.close();
            server.shutdown(policy.listen().shutdownGrace());
            System.err.println("warden: stopped");
            // A clean stop on SIGTERM exits 0 (the JVM would report 143), so service managers see success.
            Runtime.getRuntime().halt(0);
        }, "warden-shutdown"));
        System.err.println("warden: listening on " + policy.listen().host() + ":" + server.port());
        new CountDownLatch(1).await();
        return 0;
    }
}
