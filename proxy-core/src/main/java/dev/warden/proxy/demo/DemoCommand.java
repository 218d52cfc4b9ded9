package dev.warden.proxy.demo;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code warden demo}: PostgreSQL, a development OIDC issuer and Warden on this machine, with a policy, seeded data,
 * a token per demo user and a printed tour. Runs until Ctrl-C.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Start a self-contained demo: embedded PostgreSQL with a seeded shop schema, a development "
                + "OIDC issuer on loopback (not for production), and Warden with an example policy. Prints psql "
                + "commands for alice, bob, carol and the agent support-bot, and a tour. Ctrl-C stops everything; "
                + "the data directory is kept for the next run."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"1:could not start", "2:usage error", "130:stopped with Ctrl-C (the data directory is kept)"})
public final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--fresh", description = "Delete the data directory first (cluster, data, audit log, tokens).")
    boolean fresh;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "6432",
            description = "Warden's port on 127.0.0.1 (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--admin-port", paramLabel = "PORT", defaultValue = "9090",
            description = "Admin API port on 127.0.0.1 (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int adminPort;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Where the cluster, policy, tokens and audit log live (default: "
                    + "$XDG_DATA_HOME/warden-demo, else ~/.local/share/warden-demo, else ./warden-demo).")
    Path dataDir;

    @Option(names = "--upstream", paramLabel = "URL",
            description = "Use this PostgreSQL instead of the embedded one: postgresql://user:password@host:5432/db "
                    + "(?sslmode=disable|require|verify-full; default disable on localhost, else require). Its "
                    + "database serves both environments and is seeded if it has no customers table.")
    String upstream;

    @Option(names = "--show-tokens", description = "Also print each psql command with the token inline.")
    boolean showTokens;

    @Override
    public Integer call() throws InterruptedException {
        Demo.Options options = options();
        System.out.println("warden demo: starting (data directory " + options.dataDir().toAbsolutePath() + ")");
        Demo demo;
        try {
            demo = Demo.start(options);
        } catch (Exception e) {
            System.err.println("warden demo: cannot start: " + e.getMessage());
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("\nwarden demo: stopping");
            demo.close();
            System.out.println("warden demo: stopped; data kept in " + demo.dataDir());
        }, "warden-demo-shutdown"));
        System.out.print(DemoGuide.render(demo, launcher(), showTokens));
        System.out.flush();
        new CountDownLatch(1).await();
        return 0;
    }

    /** Parses and checks the options; usage errors exit 2 through picocli. */
    Demo.Options options() {
        for (int p : new int[] {port, adminPort}) {
            if (p < 0 || p > 65535) {
                throw new CommandLine.ParameterException(spec.commandLine(), "ports are between 0 and 65535");
            }
        }
        Optional<URI> url = Optional.empty();
        if (upstream != null) {
            try {
                url = Optional.of(new URI(upstream));
                DemoDatabase.external(url.get());
            } catch (URISyntaxException | IllegalArgumentException e) {
                // Do not echo the URL: it carries a password.
                throw new CommandLine.ParameterException(spec.commandLine(), e instanceof URISyntaxException
                        ? "--upstream is not a URL" : e.getMessage());
            }
        }
        return new Demo.Options(dataDir != null ? dataDir : defaultDataDir(), port, adminPort, fresh, url);
    }

    static Path defaultDataDir() {
        String xdg = System.getenv("XDG_DATA_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "warden-demo");
        }
        String home = System.getProperty("user.home");
        if (home != null && !home.isBlank() && Files.isWritable(Path.of(home))) {
            return Path.of(home, ".local", "share", "warden-demo");
        }
        return Path.of("warden-demo");
    }

    /** How the user runs Warden, so printed commands work when pasted: the launcher script, the jar, or plain. */
    static String launcher() {
        String script = System.getenv("WARDEN_LAUNCHER");
        if (script != null && !script.isBlank()) {
            return script;
        }
        try {
            Path code = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (code.toString().endsWith(".jar")) {
                return "java -jar " + DemoGuide.shell(code);
            }
        } catch (URISyntaxException | RuntimeException e) {
            // fall through: a plain name is still a fine hint
        }
        return "warden";
    }
}
