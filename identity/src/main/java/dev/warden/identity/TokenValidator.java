package dev.warden.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.BadJWSException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.EncryptedJWT;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.warden.config.IssuerConfig;
import java.net.http.HttpClient;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Validates OIDC bearer tokens against the configured issuers and maps their claims to an {@link Identity}.
 * Thread-safe; may block on HTTP while discovery or JWKS are fetched, so call it off the event loop.
 */
public final class TokenValidator {

    private static final Logger log = LoggerFactory.getLogger(TokenValidator.class);

    /** Far above any real token, far below what would let a client make us parse megabytes. */
    private static final int MAX_TOKEN_CHARS = 16 * 1024;
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(5);
    /** Plain JWTs and RFC 9068 access tokens; anything else (e.g. a logout token) is not for us. */
    private static final DefaultJOSEObjectTypeVerifier<SecurityContext> TYPES = new DefaultJOSEObjectTypeVerifier<>(
            JOSEObjectType.JWT, new JOSEObjectType("at+jwt"), new JOSEObjectType("application/at+jwt"), null);
    /** Nimbus' verifiers, plus the JDK's Ed25519 for EdDSA (Nimbus' would need Tink). Stateless, so shared. */
    private static final SignatureKeys.VerifierFactory VERIFIERS = new SignatureKeys.VerifierFactory();

    private final Map<String, Issuer> issuers = new LinkedHashMap<>();
    private final Clock clock;
    private final Duration httpTimeout;
    private final HttpClient http;

    private record Issuer(IssuerConfig config, Set<JWSAlgorithm> algorithms, IssuerKeys keys) {
    }

    public TokenValidator(List<IssuerConfig> issuers) {
        this(issuers, Clock.systemUTC(), HTTP_TIMEOUT);
    }

    TokenValidator(List<IssuerConfig> configs, Clock clock, Duration httpTimeout) {
        this(configs, clock, httpTimeout, HttpClient.newBuilder()
                .connectTimeout(httpTimeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build(), Map.of());
    }

    private TokenValidator(List<IssuerConfig> configs, Clock clock, Duration httpTimeout, HttpClient http,
                           Map<String, Issuer> previous) {
        this.clock = clock;
        this.httpTimeout = httpTimeout;
        this.http = http;
        for (IssuerConfig config : configs) {
            Set<JWSAlgorithm> algorithms = config.algorithms().stream().map(JWSAlgorithm::parse)
                    .collect(Collectors.toUnmodifiableSet());
            Issuer before = previous.get(config.issuer());
            IssuerKeys keys = before != null && before.config().jwksUri().equals(config.jwksUri())
                    ? before.keys() : new IssuerKeys(config, http, httpTimeout, clock);
            issuers.put(config.issuer(), new Issuer(config, algorithms, keys));
        }
    }

    /**
     * A validator for {@code configs} (a reloaded policy's issuers) that keeps the keys this one fetched for every
     * issuer whose keys come from the same place: the same issuer and {@code jwks_uri}. Everything else (audience,
     * claims, algorithms, denied token ids) is read from {@code configs}. Without this, each reload started with no
     * keys: every issuer was fetched again, and a reload while a provider was down refused all of its logins, where
     * the cached keys would have served for up to an hour.
     */
    public TokenValidator reloaded(List<IssuerConfig> configs) {
        return new TokenValidator(configs, clock, httpTimeout, http, issuers);
    }

    /** The configuration this validator holds for {@code issuer}: the prefixes an identity of it was made with. */
    public java.util.Optional<IssuerConfig> issuerConfig(String issuer) {
        Issuer found = issuers.get(issuer);
        return found == null ? java.util.Optional.empty() : java.util.Optional.of(found.config());
    }

    /**
     * @param token       the compact JWT the client sent as its password
     * @param startupUser the {@code user} of the client's StartupMessage, which must match the username claim
     */
    public Identity validate(String token, String startupUser) throws AuthenticationException {
        try {
            Identity identity = check(token, startupUser);
            log.debug("token accepted issuer={} user={} kind={}", identity.issuer(), identity.username(), identity.kind());
            return identity;
        } catch (AuthenticationException e) {
            log.debug("token rejected user={} sqlstate={} reason={}", printable(startupUser), e.sqlState(), e.getMessage());
            throw e;
        }
    }

    private Identity check(String token, String startupUser) throws AuthenticationException {
        if (token == null || token.isBlank()) {
            throw AuthenticationException.invalidToken("no token was sent as the password");
        }
        if (token.length() > MAX_TOKEN_CHARS) {
            throw AuthenticationException.invalidToken("token is too large");
        }
        JWT jwt;
        try {
            jwt = JWTParser.parse(token.trim());
        } catch (ParseException e) {
            // Nimbus' message may quote parts of the token, so it is not passed on.
            throw AuthenticationException.invalidToken("token is not a JWT");
        }
        if (jwt instanceof PlainJWT) {
            throw AuthenticationException.invalidToken("token algorithm 'none' is not allowed");
        }
        if (jwt instanceof EncryptedJWT || !(jwt instanceof SignedJWT signed)) {
            throw AuthenticationException.invalidToken("encrypted tokens are not supported");
        }
        JWSHeader header = signed.getHeader();
        JWSAlgorithm algorithm = header.getAlgorithm();
        // Refuse before any key lookup: an HMAC "signature" keyed with a public key proves nothing.
        if (JWSAlgorithm.Family.HMAC_SHA.contains(algorithm) || "none".equalsIgnoreCase(algorithm.getName())) {
            throw notAllowed(algorithm);
        }

        JWTClaimsSet unverified;
        try {
            unverified = signed.getJWTClaimsSet();
        } catch (ParseException e) {
            throw AuthenticationException.invalidToken("token is not a JWT");
        }
        String iss = unverified.getIssuer();
        if (iss == null) {
            throw AuthenticationException.invalidToken("token has no issuer (iss)");
        }
        Issuer issuer = issuers.get(iss);
        if (issuer == null) {
            throw AuthenticationException.invalidToken("token issuer '" + printable(iss) + "' is not trusted");
        }
        if (!issuer.algorithms().contains(algorithm)) {
            throw notAllowed(algorithm);
        }

        JWKSet keys = keysFor(issuer, header);
        JWTClaimsSet claims = verifySignature(issuer, keys, signed);
        return toIdentity(issuer.config(), claims, startupUser);
    }

    private JWKSet keysFor(Issuer issuer, JWSHeader header) throws AuthenticationException {
        JWKSet keys = issuer.keys().current();
        if (hasKeyFor(keys, header)) {
            return keys;
        }
        String kid = header.getKeyID();
        if (kid != null && keys.getKeyByKeyId(kid) != null) {
            // The key exists, so refetching will not help: the token's algorithm does not fit it.
            throw AuthenticationException.invalidToken("token key id '" + printable(kid) + "' of issuer "
                    + issuer.config().issuer() + " is not a key for algorithm " + header.getAlgorithm());
        }
        keys = issuer.keys().refreshForUnknownKey();
        if (hasKeyFor(keys, header)) {
            return keys;
        }
        if (kid == null) {
            throw AuthenticationException.invalidToken("token has no key id and no key of issuer "
                    + issuer.config().issuer() + " fits algorithm " + header.getAlgorithm());
        }
        throw AuthenticationException.invalidToken("token key id '" + printable(kid) + "' is not published by issuer "
                + issuer.config().issuer());
    }

    private static boolean hasKeyFor(JWKSet keys, JWSHeader header) {
        JWKMatcher matcher = JWKMatcher.forJWSHeader(header);
        return matcher != null && !new JWKSelector(matcher).select(keys).isEmpty();
    }

    private JWTClaimsSet verifySignature(Issuer issuer, JWKSet keys, SignedJWT signed) throws AuthenticationException {
        DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
        processor.setJWSTypeVerifier(TYPES);
        processor.setJWSKeySelector(new SignatureKeys(issuer.algorithms(), keys));
        processor.setJWSVerifierFactory(VERIFIERS);
        // Claims are checked in toIdentity, where each failure gets a precise message.
        processor.setJWTClaimsSetVerifier((claims, context) -> { });
        try {
            return processor.process(signed, null);
        } catch (BadJWSException e) {
            throw AuthenticationException.invalidToken("token signature is invalid");
        } catch (BadJOSEException e) {
            String type = signed.getHeader().getType() == null ? "" : signed.getHeader().getType().toString();
            if (e.getMessage() != null && e.getMessage().contains("typ")) {
                throw AuthenticationException.invalidToken("token type '" + printable(type) + "' is not allowed");
            }
            throw AuthenticationException.invalidToken("token signature is invalid");
        } catch (JOSEException | LinkageError e) {
            // JOSEException: e.g. an Ed448 key, which the JDK-based EdDSA verifier does not handle. LinkageError: a
            // Nimbus code path that needs an optional library (Tink, BouncyCastle) we do not ship.
            throw AuthenticationException.invalidToken("token signature cannot be verified with algorithm "
                    + signed.getHeader().getAlgorithm());
        }
    }

    private Identity toIdentity(IssuerConfig config, JWTClaimsSet claims, String startupUser)
            throws AuthenticationException {
        Instant now = clock.instant();
        Duration skew = config.clockSkew();
        if (!config.issuer().equals(claims.getIssuer())) {
            throw AuthenticationException.invalidToken("token issuer '" + printable(claims.getIssuer()) + "' is not trusted");
        }
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            throw AuthenticationException.invalidToken("token has no expiry (exp)");
        }
        if (now.isAfter(exp.toInstant().plus(skew))) {
            throw AuthenticationException.invalidToken("token expired at " + exp.toInstant());
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.plus(skew).isBefore(nbf.toInstant())) {
            throw AuthenticationException.invalidToken("token is not valid before " + nbf.toInstant());
        }
        Date iat = claims.getIssueTime();
        if (iat != null && now.plus(skew).isBefore(iat.toInstant())) {
            // No issuer dates a token it is issuing later than its clock: a forged or mis-clocked one (an
            // attacker's pass, a113 A7, had iat 9999999999 accepted).
            throw AuthenticationException.invalidToken("token is issued in the future (iat " + iat.toInstant() + ")");
        }
        List<String> audience = claims.getAudience();
        if (!audience.contains(config.audience())) {
            throw AuthenticationException.invalidToken("token audience " + audience.stream().map(TokenValidator::printable)
                    .collect(Collectors.joining(", ", "[", "]")) + " does not include '" + config.audience() + "'");
        }
        if (claims.getJWTID() != null && config.deniedTokenIds().contains(claims.getJWTID())) {
            // A leaked token can be shut out before it expires: its jti is listed in the policy.
            throw AuthenticationException.invalidToken("token id '" + printable(claims.getJWTID())
                    + "' is revoked (identity.issuers[].denied_token_ids)");
        }
        String subject = claims.getSubject();
        if (subject == null || subject.isEmpty()) {
            throw AuthenticationException.invalidToken("token has no subject (sub)");
        }

        Object usernameValue = claim(claims, config.usernameClaim());
        if (!(usernameValue instanceof String claimed) || claimed.isEmpty()) {
            throw AuthenticationException.notAuthorized("token has no '" + config.usernameClaim()
                    + "' claim to use as the user name");
        }
        if ("email".equals(config.usernameClaim())) {
            Object verified = claims.getClaim("email_verified");
            // An e-mail address is no identifier of its own (OIDC Core 5.7): another account of the same issuer may
            // claim one it does not own, and was that person to Warden (an attacker's pass, a147 F4: unmasked as them,
            // their database login, their pending statements and grants). As Kubernetes' OIDC login does: an address
            // the token says is not verified is no user name. (Absent: the provider does not say, as many do not.)
            if (verified != null && !Boolean.TRUE.equals(verified) && !"true".equals(verified)) {
                throw AuthenticationException.notAuthorized("token's e-mail '" + printable(claimed)
                        + "' is not verified (email_verified: " + printable(String.valueOf(verified))
                        + "), and username_claim is email: Warden takes only a verified address for a user name");
            }
        }
        String username = config.usernamePrefix() + claimed;
        // The client may name itself as its IdP does or as Warden does: the identity comes from the token either way.
        if (!username.equals(startupUser) && !claimed.equals(startupUser)) {
            throw AuthenticationException.notAuthorized("token is for user '" + printable(username)
                    + "' but the connection asked for user '" + printable(startupUser) + "'");
        }
        IssuerConfig owner = longestPrefixOwner(username, config, IssuerConfig::usernamePrefix);
        if (owner != config) {
            throw AuthenticationException.notAuthorized("token of issuer " + config.issuer() + " names user '"
                    + printable(username) + "', which starts with username_prefix '" + owner.usernamePrefix()
                    + "' of issuer " + owner.issuer() + ": only that issuer's tokens give such names");
        }

        Set<String> groups = new LinkedHashSet<>();
        Object groupsValue = claim(claims, config.groupsClaim());
        if (groupsValue instanceof String single) {
            addGroup(groups, config, single);
        } else if (groupsValue instanceof Collection<?> many) {
            // Non-string elements are ignored: they can only ever cost access, never grant it.
            for (Object group : many) {
                if (group instanceof String name) {
                    addGroup(groups, config, name);
                }
            }
        }

        boolean agent = config.agent().map(rule -> rule.isAgent(claim(claims, rule.claim()))).orElse(false);
        return new Identity(subject, username, groups, agent ? Identity.Kind.AGENT : Identity.Kind.HUMAN,
                config.issuer(), exp.toInstant());
    }

    /**
     * A group, with the issuer's prefix; dropped when another issuer's longer prefix starts it (an unprefixed issuer's
     * "partner:dba" is not the partner's dba). Dropping a group a token claims only takes away what it would give.
     */
    private void addGroup(Set<String> groups, IssuerConfig config, String claimed) {
        String group = config.groupsPrefix() + claimed;
        if (longestPrefixOwner(group, config, IssuerConfig::groupsPrefix) == config) {
            groups.add(group);
        } else {
            log.debug("token group dropped issuer={} group={}", config.issuer(), printable(group));
        }
    }

    /**
     * The issuer a name belongs to: {@code own} unless another issuer's prefix is longer than {@code own}'s and starts
     * the name (compared without case, as approvers are). So every name has one owner, and an issuer without a prefix,
     * or with a shorter one, cannot hand out a name of a prefixed issuer's namespace.
     */
    private IssuerConfig longestPrefixOwner(String name, IssuerConfig own,
                                            java.util.function.Function<IssuerConfig, String> prefixOf) {
        IssuerConfig owner = own;
        for (Issuer other : issuers.values()) {
            String prefix = prefixOf.apply(other.config());
            if (prefix.length() > prefixOf.apply(owner).length()
                    && name.regionMatches(true, 0, prefix, 0, prefix.length())) {
                owner = other.config();
            }
        }
        return owner;
    }

    /** A claim by name, or by dotted path into nested objects ({@code realm_access.roles}) if no claim has that name. */
    /**
     * The claim {@code name} of {@code claims}: a top-level claim of that name, else a dotted path into nested
     * objects ({@code ext.mail}); null when there is none.
     */
    public static Object claim(JWTClaimsSet claims, String name) {
        Object value = claims.getClaim(name);
        if (value != null || name.indexOf('.') < 0) {
            return value;
        }
        Object current = claims.getClaims();
        for (String part : name.split("\\.")) {
            if (!(current instanceof Map<?, ?> map)) {
                return null;
            }
            current = map.get(part);
        }
        return current;
    }

    private static AuthenticationException notAllowed(JWSAlgorithm algorithm) {
        return AuthenticationException.invalidToken("token algorithm '" + printable(algorithm.getName()) + "' is not allowed");
    }

    /** Token fields are attacker-controlled: keep them short and free of control characters in messages and logs. */
    static String printable(String value) {
        if (value == null) {
            return "";
        }
        String cleaned = value.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return cleaned.length() <= 120 ? cleaned : cleaned.substring(0, 120) + "...";
    }
}
