package dev.warden.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.IssuerConfig;
import dev.warden.testkit.TestOidcIssuer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two real issuers, the second with {@code username_prefix: "partner:"} (groups take it too): its names and groups
 * can never equal the first issuer's, and the first cannot hand out names of the partner's namespace.
 */
class IssuerPrefixTest {

    private TestOidcIssuer home;
    private TestOidcIssuer partner;
    private TokenValidator validator;

    @BeforeEach
    void start() {
        home = TestOidcIssuer.start();
        partner = TestOidcIssuer.start();
        validator = new TokenValidator(List.of(config(home, ""), config(partner, "partner:")));
    }

    @AfterEach
    void stop() {
        home.close();
        partner.close();
    }

    private static IssuerConfig config(TestOidcIssuer issuer, String prefix) {
        return new IssuerConfig(issuer.issuer(), "warden", "email", "groups", Optional.empty(), Set.of("RS256"),
                Duration.ofSeconds(60), Optional.empty(), Set.of(), prefix, prefix);
    }

    @Test
    void thePartnersNamesAndGroupsCarryItsPrefix() throws Exception {
        Identity alice = validator.validate(partner.token().email("alice@example.com").groups("dba", "eng").sign(),
                "partner:alice@example.com");
        assertEquals("partner:alice@example.com", alice.username());
        assertEquals(Set.of("partner:dba", "partner:eng"), alice.groups());
    }

    @Test
    void theClientMayNameItselfAsItsIdpDoes() throws Exception {
        Identity alice = validator.validate(partner.token().email("alice@example.com").sign(), "alice@example.com");
        assertEquals("partner:alice@example.com", alice.username());
        AuthenticationException other = assertThrows(AuthenticationException.class, () -> validator.validate(
                partner.token().email("alice@example.com").sign(), "bob@example.com"));
        assertEquals("token is for user 'partner:alice@example.com' but the connection asked for user "
                + "'bob@example.com'", other.getMessage());
    }

    @Test
    void theHomeIssuersNamesStayAsTheyAre() throws Exception {
        Identity alice = validator.validate(home.token().email("alice@example.com").groups("dba").sign(),
                "alice@example.com");
        assertEquals("alice@example.com", alice.username());
        assertEquals(Set.of("dba"), alice.groups());
    }

    @Test
    void anUnprefixedIssuerCannotHandOutANameOfThePartnersNamespaceInAnyCase() {
        for (String name : List.of("partner:bob@example.com", "PARTNER:bob@example.com", "Partner:bob@example.com")) {
            AuthenticationException e = assertThrows(AuthenticationException.class,
                    () -> validator.validate(home.token().email(name).sign(), name), name);
            assertEquals("28000", e.sqlState());
            assertTrue(e.getMessage().contains("starts with username_prefix 'partner:' of issuer " + partner.issuer()),
                    e.getMessage());
        }
    }

    @Test
    void anUnprefixedIssuersGroupOfThePartnersNamespaceIsDropped() throws Exception {
        Identity alice = validator.validate(home.token().email("alice@example.com")
                .groups("eng", "partner:dba", "PARTNER:eng").sign(), "alice@example.com");
        assertEquals(Set.of("eng"), alice.groups());
    }

    @Test
    void aPartnerClaimThatAlreadyStartsWithThePrefixIsPrefixedAgain() throws Exception {
        Identity bob = validator.validate(partner.token().email("partner:bob@example.com").sign(),
                "partner:bob@example.com");
        assertEquals("partner:partner:bob@example.com", bob.username());
    }

    @Test
    void aLongerPrefixThatStartsWithAShorterOneOwnsItsNames() {
        try (TestOidcIssuer nested = TestOidcIssuer.start()) {
            TokenValidator v = new TokenValidator(List.of(config(home, ""), config(partner, "partner:"),
                    config(nested, "partner:eu:")));
            AuthenticationException e = assertThrows(AuthenticationException.class, () -> v.validate(
                    partner.token().email("eu:bob@example.com").sign(), "eu:bob@example.com"));
            assertTrue(e.getMessage().contains("username_prefix 'partner:eu:' of issuer " + nested.issuer()),
                    e.getMessage());
        }
    }
}
