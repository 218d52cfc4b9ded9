package dev.warden.proxy.cli;

import dev.warden.proxy.login.ClientProfile;
import dev.warden.proxy.login.ConnectionPlan;
import dev.warden.proxy.login.LoginException;
import dev.warden.proxy.login.TokenSet;
import picocli.CommandLine.Option;

/** Where {@code warden psql} and {@code warden url} connect, and as whom. */
final class ConnectionOptions {

    @Option(names = "--host", paramLabel = "HOST",
            description = "Warden's host (default: 'host' in config.yaml, else " + ClientProfile.DEFAULT_HOST + ").")
    String host;

    @Option(names = "--port", paramLabel = "PORT",
            description = "Warden's port (default: 'port' in config.yaml, else " + ClientProfile.DEFAULT_PORT + ").")
    Integer port;

    @Option(names = "--user-claim", paramLabel = "CLAIM",
            description = "Token claim holding the user name (default: 'user_claim' in config.yaml, else email).")
    String userClaim;

    @Option(names = "--id-token", description = "Send the ID token instead of the access token.")
    boolean idToken;

    ConnectionPlan plan(ClientProfile profile, String environment, TokenSet tokens) throws LoginException {
        String claim = userClaim != null ? userClaim : profile.userClaim().orElse(ClientProfile.DEFAULT_USER_CLAIM);
        return new ConnectionPlan(host != null ? host : profile.host().orElse(ClientProfile.DEFAULT_HOST),
                port != null ? port : profile.port().orElse(ClientProfile.DEFAULT_PORT), environment,
                ConnectionPlan.userFrom(tokens, claim, idToken));
    }

    String password(TokenSet tokens) {
        return idToken ? tokens.idToken().orElseThrow() : tokens.accessToken();
    }
}
