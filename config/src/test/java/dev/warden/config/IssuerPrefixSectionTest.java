package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code identity.issuers[].username_prefix} and {@code groups_prefix}: what loads, what is refused, what warns. */
class IssuerPrefixSectionTest {

    @TempDir
    Path dir;

    private static final String ENVIRONMENTS = """
            environments:
              prod:
                upstream: { host: db.internal, database: app, user: warden }
                allow: [ { groups: [eng] } ]
            """;

    private Policy parse(String issuers) throws PolicyException {
        return PolicyLoader.parse("identity:\n  issuers:\n" + issuers + ENVIRONMENTS, dir, "policy.yaml", Map.of());
    }

    @Test
    void oneIssuerWithoutAPrefixLoadsAsBeforeWithoutWarnings() throws Exception {
        Policy policy = parse("""
                    - { issuer: https://login.example.com, audience: warden }
                """);
        assertEquals("", policy.issuers().get(0).usernamePrefix());
        assertEquals("", policy.issuers().get(0).groupsPrefix());
        assertEquals(List.of(), policy.warnings());
    }

    @Test
    void groupsTakeTheUsernamePrefixUnlessGivenTheirOwn() throws Exception {
        Policy policy = parse("""
                    - { issuer: https://login.example.com, audience: warden }
                    - { issuer: https://partner.example.net, audience: warden, username_prefix: "partner:" }
                    - { issuer: https://ci.example.org, audience: warden, username_prefix: "ci:", groups_prefix: "ci-group:" }
                """);
        assertEquals("partner:", policy.issuers().get(1).usernamePrefix());
        assertEquals("partner:", policy.issuers().get(1).groupsPrefix());
        assertEquals("ci-group:", policy.issuers().get(2).groupsPrefix());
        assertEquals(List.of(), policy.warnings(), "all but one issuer have a prefix: nothing to warn about");
    }

    @Test
    void twoIssuersWithoutAPrefixWarnWithFileAndLine() throws Exception {
        Policy policy = parse("""
                    - { issuer: https://login.example.com, audience: warden }
                    - { issuer: https://partner.example.net, audience: warden }
                """);
        assertEquals(1, policy.warnings().size(), policy.warnings().toString());
        String warning = policy.warnings().get(0);
        assertTrue(warning.startsWith("policy.yaml:4:7: identity.issuers[1]: issuer https://partner.example.net has "
                + "no username_prefix"), warning);
        assertTrue(warning.contains("https://login.example.com (line 3)"), warning);
    }

    @Test
    void prefixesThatDifferOnlyInCaseAreRefused() {
        PolicyException e = assertThrows(PolicyException.class, () -> parse("""
                    - { issuer: https://login.example.com, audience: warden, username_prefix: "Partner:" }
                    - { issuer: https://partner.example.net, audience: warden, username_prefix: "partner:" }
                """));
        assertTrue(e.getMessage().contains("identity.issuers[1].username_prefix: username_prefix 'partner:' is also "
                + "issuer https://login.example.com's"), e.getMessage());
    }

    @Test
    void aGroupsPrefixEqualToAnotherIssuersDefaultGroupsPrefixIsRefused() {
        PolicyException e = assertThrows(PolicyException.class, () -> parse("""
                    - { issuer: https://login.example.com, audience: warden, username_prefix: "p:" }
                    - { issuer: https://partner.example.net, audience: warden, username_prefix: "q:", groups_prefix: "P:" }
                """));
        assertTrue(e.getMessage().contains("groups_prefix 'P:' is also issuer https://login.example.com's"),
                e.getMessage());
    }

    @Test
    void aPrefixWithALookAlikeLetterSpacesOrNothingIsRefused() {
        for (String prefix : List.of("\"p\u0430rtner:\"", "\"partner: \"", "\"\"", "\"partner\\u200b:\"",
                "\"" + "x".repeat(33) + "\"")) {
            PolicyException e = assertThrows(PolicyException.class, () -> parse(
                    "    - { issuer: https://partner.example.net, audience: warden, username_prefix: " + prefix + " }\n"),
                    prefix);
            assertTrue(e.getMessage().contains("identity.issuers[0].username_prefix"), e.getMessage());
        }
    }
}
