package dev.warden.proxy.cli;

import dev.warden.proxy.login.CachedLogin;
import dev.warden.proxy.login.LoginException;
import dev.warden.proxy.login.TokenSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "token", mixinStandardHelpOptions = true,
        description = {"Print a valid token from the cache, refreshing it first if it has expired.",
                "Prints the access token by default, for PGPASSWORD=$(warden token). With --id-token, the ID",
                "token instead: some IdPs only put email in the ID token, whose audience is the client id, so",
                "Warden's issuer 'audience' must then be that client id.",
                "Exit codes: 0 printed, 1 not logged in or the refresh failed (run `warden login`), 2 no issuer."})
final class TokenCommand implements Callable<Integer> {

    @Mixin
    LoginOptions options;

    @Option(names = "--id-token", description = "Print the ID token instead of the access token.")
    boolean idToken;

    @Override
    public Integer call() {
        String issuer;
        try {
            issuer = options.profile().requireIssuer();
        } catch (LoginException e) {
            System.err.println("warden token: " + e.getMessage());
            return 2;
        }
        try {
            TokenSet tokens = CachedLogin.current(options.cache(), options.client(), issuer);
            if (idToken) {
                if (tokens.idToken().isEmpty()) {
                    System.err.println("warden token: the cached login for " + issuer + " has no ID token (was the "
                            + "openid scope requested?)");
                    return 1;
                }
                System.out.println(tokens.idToken().get());
            } else {
                System.out.println(tokens.accessToken());
            }
            return 0;
        } catch (LoginException e) {
            System.err.println("warden token: " + e.getMessage());
            return 1;
        }
    }
}
