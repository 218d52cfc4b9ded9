package dev.warden.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.proxy.approvals.ApprovalJson;

/** The {@code warden approvals} command line against a harness's admin API, as bob (group dba) uses it. */
final class ApprovalsCli {

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

    /**
     * The id of the first pending request bob can see that a session holds, waiting up to 5 s for one to appear.
     * Requests filed in retry mode are pending too, but hold nothing: one left by an earlier test (for the 3 s of
     * its timeout) was taken for the held statement, denied in its stead, and the held one expired (57014).
     */
    static String awaitPendingId(WardenHarness warden) throws Exception {
        return awaitPendingId(warden, "");
    }

    /** The first held request whose statement holds {@code text}. */
    static String awaitPendingId(WardenHarness warden, String text) throws Exception {
        long deadline = System.currentTimeMillis() + 5000;
        String last = "";
        while (System.currentTimeMillis() < deadline) {
            CliRun list = run(warden, bobToken(warden), "list", "--json");
            last = list.out() + list.err();
            if (list.exitCode() == 0) {
                for (JsonNode r : ApprovalJson.MAPPER.readTree(list.out()).path("approvals")) {
                    if (r.path("status").asText().equals("pending") && r.path("held").asBoolean(false)
                            && r.path("statement").asText().contains(text)) {
                        return r.path("id").asText();
                    }
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no held request of \"" + text + "\" appeared: " + last);
    }
}
