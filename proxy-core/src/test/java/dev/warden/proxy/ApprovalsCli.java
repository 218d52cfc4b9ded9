package dev.warden.proxy;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The {@code warden approvals} command line against a harness's admin API, as bob (group dba) uses it. */
final class ApprovalsCli {

    private static final Pattern PENDING_ID =
            Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"\\s*,\\s*\"status\"\\s*:\\s*\"pending\"");

    private ApprovalsCli() {
    }

    static String bobToken(WardenHarness warden) {
        return warden.issuer.token().subject("user-bob").email("bob@example.com").groups("dba").sign();
    }

    /** {@code warden approvals <args[0]> --url <admin> --token=<token> <args[1..]>}. */
    static CliRun run(WardenHarness warden, String token, String... args) {
        String[] full = new String[args.length + 4];
        full[0] = "approvals";
        full[1] = args[0];
        full[2] = "--url";
        full[3] = "http://127.0.0.1:" + warden.server().adminPort();
        full[4] = "--token=" + token;
        System.arraycopy(args, 1, full, 5, args.length - 1);
        return CliRun.of(full);
    }

    /** The id of the first pending request bob can see, waiting up to 5 s for one to appear. */
    static String awaitPendingId(WardenHarness warden) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 5000;
        String last = "";
        while (System.currentTimeMillis() < deadline) {
            CliRun list = run(warden, bobToken(warden), "list", "--json");
            last = list.out() + list.err();
            Matcher m = PENDING_ID.matcher(list.out());
            if (list.exitCode() == 0 && m.find()) {
                return m.group(1);
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no pending approval appeared: " + last);
    }
}
