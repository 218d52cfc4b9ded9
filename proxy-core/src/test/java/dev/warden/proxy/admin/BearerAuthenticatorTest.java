package dev.warden.proxy.admin;

import dev.warden.config.IssuerConfig;
import dev.warden.identity.TokenValidator;
import dev.warden.testkit.TestOidcIssuer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Attacker pass a147 F3: with a dotted {@code username_claim} ({@code ext.mail}), the issuer's users logged in through
 * PostgreSQL clients, but every admin API call of theirs was refused (401): the admin API read the claim as a
 * top-level one. It reads it as the login does.
 */
class BearerAuthenticatorTest {

    @Test
    void aDottedUsernameClaimNamesTheCallerAsAtLogin() throws Exception {
        try (TestOidcIssuer issuer = TestOidcIssuer.start()) {
            IssuerConfig config = new IssuerConfig(issuer.issuer(), "warden", "ext.mail", "groups", Optional.empty(),
                    Set.of("RS256"), Duration.ofSeconds(60), Optional.empty());
            BearerAuthenticator tokens = new BearerAuthenticator(new TokenValidator(List.of(config)), List.of(config));
            String token = issuer.token().subject("user-9").claim("ext", Map.of("mail", "dora@example.com"))
                    .groups("dba").sign();
            assertEquals("dora@example.com", tokens.authenticate("Bearer " + token).username());
        }
    }
}
