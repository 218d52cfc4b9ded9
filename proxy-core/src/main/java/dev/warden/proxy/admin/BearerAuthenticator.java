package dev.warden.proxy.admin;

import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.warden.config.IssuerConfig;
import dev.warden.identity.AuthenticationException;
import dev.warden.identity.Identity;
import dev.warden.identity.TokenValidator;
import java.text.ParseException;
import java.util.List;
import java.util.Locale;

/**
 * Turns an {@code Authorization: Bearer} header into a verified {@link Identity}.
 *
 * <p>{@link TokenValidator#validate} insists that the token's username claim equal the user a PostgreSQL client
 * named in its StartupMessage; an HTTP caller names no user. So the user name is first read from the token
 * <em>unverified</em> (the claim the token's issuer is configured to use) and only passed as the expected user;
 * {@code validate} then checks the signature, issuer, audience and expiry as for any connection. Nothing read
 * before validation is trusted: a forged claim fails the signature check.
 */
public final class BearerAuthenticator {

    private final TokenValidator validator;
    private final List<IssuerConfig> issuers;

    public BearerAuthenticator(TokenValidator validator, List<IssuerConfig> issuers) {
        this.validator = validator;
        this.issuers = List.copyOf(issuers);
    }

    /** Why a caller is not authenticated; the message is safe to return to them. */
    public static final class NotAuthenticated extends Exception {
        NotAuthenticated(String message) {
            super(message);
        }
    }

    /** @param authorization the header's value, or null when absent */
    public Identity authenticate(String authorization) throws NotAuthenticated {
        if (authorization == null || authorization.isBlank()) {
            throw new NotAuthenticated("missing Authorization: Bearer <token> header");
        }
        String value = authorization.strip();
        if (!value.toLowerCase(Locale.ROOT).startsWith("bearer ")) {
            throw new NotAuthenticated("the Authorization header must be 'Bearer <token>'");
        }
        String token = value.substring("bearer ".length()).strip();
        try {
            return validator.validate(token, claimedUsername(token));
        } catch (AuthenticationException e) {
            throw new NotAuthenticated(e.getMessage());
        }
    }

    /**
     * The {@code jti} of the token in {@code authorization}, which {@link #authenticate} has verified; empty when it
     * has none.
     */
    public static String tokenId(String authorization) {
        try {
            String token = authorization.strip().substring("bearer ".length()).strip();
            String jti = SignedJWT.parse(token).getJWTClaimsSet().getJWTID();
            return jti == null ? "" : jti;
        } catch (ParseException | RuntimeException e) {
            return "";
        }
    }

    /** The username claim as the token states it, before any verification; null when it cannot be read. */
    private String claimedUsername(String token) {
        try {
            JWTClaimsSet claims = SignedJWT.parse(token).getJWTClaimsSet();
            for (IssuerConfig issuer : issuers) {
                if (issuer.issuer().equals(claims.getIssuer())) {
                    // A dotted claim too, as validate() reads it (a147 F3: every call of such an issuer's users
                    // was 401).
                    Object value = TokenValidator.claim(claims, issuer.usernameClaim());
                    return value instanceof String s ? s : null;
                }
            }
        } catch (ParseException | RuntimeException e) {
            // validate() names the problem precisely.
        }
        return null;
    }
}
