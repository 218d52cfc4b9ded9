package dev.warden.proxy.login;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a client reaches one Warden environment: host, port, database (the environment's name) and the user
 * name read from the token. The token itself only ever travels in {@code PGPASSWORD}, never in an argument
 * list that {@code ps} would show.
 */
public record ConnectionPlan(String host, int port, String environment, String user) {

    /** The user name claim of the token, read without verifying it (Warden verifies it). */
    public static String userFrom(TokenSet tokens, String claim, boolean idToken) throws LoginException {
        String token = idToken ? tokens.idToken().orElseThrow(() -> new LoginException(
                "the cached login has no ID token: log in with the openid scope")) : tokens.accessToken();
        Optional<String> user = JwtClaims.string(token, claim);
        if (user.isEmpty() && !idToken && tokens.idToken().isPresent()) {
            // Many IdPs put email in the ID token only; the proxy still receives the access token.
            user = JwtClaims.string(tokens.idToken().get(), claim);
        }
        return user.orElseThrow(() -> new LoginException("the token has no '" + claim + "' claim to use as the "
                + "user name: set user_claim in config.yaml (e.g. sub or preferred_username)"));
    }

    /** The psql command line: every connection setting in one conninfo argument, then the user's own arguments. */
    public List<String> psqlCommand(String psql, List<String> extraArguments) {
        List<String> argv = new ArrayList<>();
        argv.add(psql);
        argv.add(libpq());
        argv.addAll(extraArguments);
        return argv;
    }

    /** The environment psql needs on top of the inherited one. */
    public Map<String, String> psqlEnvironment(String token) {
        return Map.of("PGPASSWORD", token);
    }

    /** A libpq keyword/value connection string (no password). */
    public String libpq() {
        return "host=" + quote(host) + " port=" + port + " dbname=" + quote(environment) + " user=" + quote(user)
                + " sslmode=require";
    }

    /** A pgJDBC URL (no password). */
    public String jdbc() {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return "jdbc:postgresql://" + h + ":" + port + "/" + URLEncoder.encode(environment, StandardCharsets.UTF_8)
                + "?sslmode=require&user=" + URLEncoder.encode(user, StandardCharsets.UTF_8);
    }

    /** libpq quoting: single quotes around values with spaces or quotes, backslash before ' and \. */
    static String quote(String value) {
        if (!value.isEmpty() && value.chars().noneMatch(c -> c == ' ' || c == '\'' || c == '\\' || c == '=')) {
            return value;
        }
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
