package dev.warden.proxy.demo;

import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What {@code warden demo} prints once everything runs: where things are, a {@code psql} command and a JDBC URL
 * per user, and the tour. Every command is complete and can be pasted as is; {@code DemoTourTest} runs them.
 */
final class DemoGuide {

    private static final Pattern SHELL_SAFE = Pattern.compile("[A-Za-z0-9_./:@=+-]+");

    private DemoGuide() {
    }

    /** The {@code psql} command line for {@code user} in {@code environment}, reading the token from its file. */
    static String psql(Demo demo, DemoUser user, String environment) {
        return "PGPASSWORD=$(cat " + shell(demo.tokenFile(user)) + ") psql \"" + conninfo(demo, user, environment)
                + "\"";
    }

    /** The same with the token inline, for copying to another machine or tool. */
    static String psqlWithToken(Demo demo, DemoUser user, String environment) {
        return "PGPASSWORD='" + demo.token(user) + "' psql \"" + conninfo(demo, user, environment) + "\"";
    }

    /** libpq key=value connection string; {@code sslmode=require} because Warden only takes tokens over TLS. */
    static String conninfo(Demo demo, DemoUser user, String environment) {
        return "host=127.0.0.1 port=" + demo.port() + " dbname=" + environment + " user=" + user.email()
                + " sslmode=require";
    }

    static String jdbcUrl(Demo demo, DemoUser user, String environment) {
        return "jdbc:postgresql://127.0.0.1:" + demo.port() + "/" + environment + "?sslmode=require&user="
                + user.email();
    }

    /** {@code warden approvals ...} as bob, against the demo's admin API. */
    static String approvals(Demo demo, String launcher, String subcommand) {
        return launcher + " approvals " + subcommand + " --url " + adminUrl(demo) + " --token \"$(cat "
                + shell(demo.tokenFile(DemoUser.BOB)) + ")\"";
    }

    static String adminUrl(Demo demo) {
        return "http://127.0.0.1:" + demo.adminPort();
    }

    static String render(Demo demo, String launcher, boolean showTokens) {
        StringBuilder out = new StringBuilder();
        String rule = "=".repeat(100);
        DemoDatabase db = demo.database();
        out.append(rule).append('\n')
                .append(String.format(Locale.ROOT, " Warden demo — ready in %.1f s%s%n",
                        demo.startTime().toMillis() / 1000.0,
                        demo.firstStart() ? " (first start: cluster created and data seeded)" : ""))
                .append(rule).append('\n');
        out.append(" PostgreSQL  ").append(db.isEmbedded()
                        ? "embedded, 127.0.0.1:" + db.port() + ", databases " + db.databases().get("staging") + " and "
                        + db.databases().get("prod") + ", data in " + shell(demo.dataDir().resolve("postgres"))
                        : db.host() + ":" + db.port() + ", database " + db.databases().get("prod")
                        + " (--upstream; staging and prod share it)")
                .append('\n');
        out.append(" Warden      127.0.0.1:").append(demo.port())
                .append(" (TLS with a self-signed certificate), environments staging and prod\n");
        out.append(" Admin API   ").append(adminUrl(demo)).append("  (approvals, /readyz)\n");
        out.append(" Issuer      ").append(DevelopmentIssuer.LABEL).append(": ").append(demo.issuerUrl())
                .append(" (loopback only, key in memory, tokens valid ")
                .append(DevelopmentIssuer.TOKEN_VALIDITY.toHours()).append(" h)\n");
        out.append(" Policy      ").append(shell(demo.policyFile())).append('\n');
        out.append(" Audit log   ").append(shell(demo.auditDir())).append('\n');
        out.append(" Tokens      ").append(shell(demo.dataDir().resolve("tokens"))).append("/<user>.jwt\n\n");

        out.append(" Connect: the token is the password, the database name is the environment (staging or prod).\n");
        for (DemoUser user : DemoUser.ALL) {
            out.append('\n').append(" ").append(user.name()).append(" — ").append(user.role()).append(" (groups ")
                    .append(String.join(", ", user.groups())).append(")\n");
            out.append("   ").append(psql(demo, user, "prod")).append('\n');
            if (showTokens) {
                out.append("   ").append(psqlWithToken(demo, user, "prod")).append('\n');
            }
            out.append("   JDBC: ").append(jdbcUrl(demo, user, "prod")).append("  password: the token in ")
                    .append(shell(demo.tokenFile(user))).append('\n');
        }

        out.append('\n').append(" Tour\n");
        if (db.isEmbedded()) {
            out.append(" 0. Who you are to PostgreSQL. As carol:   SELECT current_user;\n")
                    .append("    wd_carol@demo.warden: everyone runs as a role of their own, a member of shop_readwrite\n")
                    .append("    (support-bot: shop_readonly, bob: shop_admin), so PostgreSQL's own privileges are the\n")
                    .append("    floor under Warden's rules. (alice sees role names masked, like any e-mail address.)\n");
        }
        out.append(" 1. Masking. As alice, then as carol:   SELECT * FROM customers LIMIT 5;\n")
                .append("    alice sees e-mails, phones, card numbers and SSNs masked; carol (pii-readers) sees them in\n")
                .append("    clear. support-bot is an agent: masked although it is in pii-readers (agents: never).\n");
        out.append(" 2. Guardrails. As alice:   DROP TABLE orders;\n")
                .append("    ERROR 42501, blocked by the baseline rule drop-table-or-schema; the table is still there.\n");
        out.append(" 3. Approvals. As alice, on prod:   UPDATE orders SET total = 0 WHERE id = 1;\n")
                .append("    psql prints a NOTICE naming the request (apr_...) and waits. In another terminal, as bob:\n")
                .append("      ").append(approvals(demo, launcher, "list")).append('\n')
                .append("      ").append(approvals(demo, launcher, "approve <id>")).append('\n')
                .append("    and alice's UPDATE completes (deny it instead: ").append(launcher)
                .append(" approvals deny <id> --comment why ...).\n");
        out.append(" 4. Audit. Every statement above was written ahead to a hash-chained, signed log:\n")
                .append("      ").append(launcher).append(" audit verify ").append(shell(demo.auditDir()))
                .append(" --public-key ").append(shell(demo.publicKeyFile()))
                .append(" --witness file:").append(shell(demo.witnessUrlFile())).append(" --chain warden-demo\n")
                .append("      ").append(launcher).append(" audit tail ").append(shell(demo.auditDir())).append('\n')
                .append("      ").append(launcher).append(" audit export ").append(shell(demo.auditDir()))
                .append(" --format ocsf --since 1h     # OCSF events for a SIEM\n");
        out.append('\n').append(" Ctrl-C stops Warden, the issuer and PostgreSQL; the data directory stays for the next")
                .append(" run (--fresh starts over).\n");
        out.append(rule).append('\n');
        return out.toString();
    }

    /** Quotes a path for a POSIX shell when it needs it. */
    static String shell(Path path) {
        String text = path.toString();
        return SHELL_SAFE.matcher(text).matches() ? text : "'" + text.replace("'", "'\\''") + "'";
    }
}
