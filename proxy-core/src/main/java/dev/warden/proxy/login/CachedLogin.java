package dev.warden.proxy.login;

import java.time.Clock;

/** A cached login made current: returned as is while valid, refreshed (and re-cached) once expired. */
public final class CachedLogin {

    private CachedLogin() {
    }

    public static TokenSet current(TokenCache cache, OAuthClient client, String issuer) throws LoginException {
        TokenSet tokens = cache.load(issuer).orElseThrow(() -> new LoginException("not logged in to " + issuer
                + ": run `warden login` first"));
        Clock clock = client.clock();
        if (tokens.usableAt(clock.instant())) {
            return tokens;
        }
        TokenSet refreshed = client.refresh(tokens);
        cache.save(refreshed);
        return refreshed;
    }
}
