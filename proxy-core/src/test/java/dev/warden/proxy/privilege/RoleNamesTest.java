package dev.warden.proxy.privilege;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The identity-to-role name mapping is readable where it can be and injective always. */
class RoleNamesTest {

    @Test
    void aPlainUserNameIsKeptAsItIs() {
        assertEquals("wd_alice@example.com", RoleNames.forIdentity("wd_", "alice@example.com"));
        assertEquals("wd_etl-bot_1.prod", RoleNames.forIdentity("wd_", "etl-bot_1.prod"));
    }

    @Test
    void anyOtherNameIsMadeSafeAndTaggedWithItsHash() {
        String upper = RoleNames.forIdentity("wd_", "Alice@example.com");
        assertTrue(upper.matches("wd__lice@example\\.com#[0-9a-f]{16}"), upper);
        // Case folding or replacement never merges two identities, nor does an attacker who picks a name that
        // looks like a tagged one: '#' is never kept, so no plain name can end in a tag.
        assertNotEquals(upper, RoleNames.forIdentity("wd_", "_lice@example.com"));
        assertNotEquals(RoleNames.forIdentity("wd_", "a\"b"), RoleNames.forIdentity("wd_", "a'b"));
        String quoteAttack = RoleNames.forIdentity("wd_", "x\"; DROP ROLE postgres; --");
        assertTrue(quoteAttack.matches("wd_[a-z0-9_.@-]*#[0-9a-f]{16}"), quoteAttack);
    }

    @Test
    void longNamesFitPostgresLimitAndStayDistinct() {
        String a = "a".repeat(80) + "@example.com";
        String b = "a".repeat(81) + "@example.com";
        String ra = RoleNames.forIdentity("wd_", a);
        assertTrue(ra.getBytes(StandardCharsets.UTF_8).length <= 63, ra);
        assertNotEquals(ra, RoleNames.forIdentity("wd_", b));
        assertEquals(ra, RoleNames.forIdentity("wd_", a), "the same identity always gets the same role");
    }

    @Test
    void startupSettingsThatChangeTheRoleAreFoundWhereverTheServerWouldApplyThem() {
        assertEquals("Role", StartupRoleOptions.roleChange(Map.of("Role", "admin")).orElseThrow());
        assertTrue(StartupRoleOptions.roleChange(Map.of("session_authorization", "postgres")).isPresent());
        assertTrue(StartupRoleOptions.roleChange(Map.of("options", "-c role=admin")).isPresent());
        assertTrue(StartupRoleOptions.roleChange(Map.of("options", "-crole=admin")).isPresent());
        assertTrue(StartupRoleOptions.roleChange(Map.of("options", "--ROLE=admin")).isPresent());
        assertTrue(StartupRoleOptions.roleChange(Map.of("options", "--session-authorization=postgres")).isPresent());
        assertTrue(StartupRoleOptions.roleChange(Map.of("options", "-c search_path=a\\ b -c role=admin")).isPresent());
        assertTrue(StartupRoleOptions.roleChange(Map.of("options", "-c search_path=roles -c statement_timeout=5s",
                "application_name", "role")).isEmpty());
        // Switches share a word as getopt reads them: those without an argument let the next character be a switch.
        for (String options : new String[] {"-Ecrole=admin", "-E-role=admin", "-Ec role=admin", "-ec role=admin",
            "-eEc role=admin", "-e -c role=admin", "-E-session-authorization=postgres"}) {
            assertTrue(StartupRoleOptions.roleChange(Map.of("options", options)).isPresent(), options);
        }
        // A switch that takes an argument takes the rest of its word, or the next word, whatever it looks like.
        for (String options : new String[] {"-Bcrole=x", "-B -crole=x", "-c search_path=x -Dcrole=y"}) {
            assertTrue(StartupRoleOptions.roleChange(Map.of("options", options)).isEmpty(), options);
        }
    }

    @org.junit.jupiter.api.Test
    void anOpaqueNameIsAKeyedHashOfIssuerAndUserNameAndNamesNoOne() {
        dev.warden.config.RoleMapping key1 = opaque("first-key-0123456789");
        String alice = RoleNames.forIdentity(key1, "alice@example.com", "https://idp.example.com");
        assertTrue(alice.matches("wd_[0-9a-f]{32}"), alice);
        assertEquals(alice, RoleNames.forIdentity(key1, "alice@example.com", "https://idp.example.com"),
                "the same identity always gets the same role");
        assertNotEquals(alice, RoleNames.forIdentity(key1, "bob@example.com", "https://idp.example.com"));
        assertNotEquals(alice, RoleNames.forIdentity(key1, "alice@example.com", "https://partner.example.com"),
                "another issuer's user of the same name gets a role of their own");
        assertNotEquals(alice, RoleNames.forIdentity(opaque("second-key-0123456789"), "alice@example.com",
                "https://idp.example.com"), "without the key a name cannot be tested against a guessed address");
        // The issuer's length is hashed first: moving bytes between issuer and user name changes the name.
        assertNotEquals(RoleNames.forIdentity(key1, "b", "a"), RoleNames.forIdentity(key1, "", "ab"));
        assertEquals("wd_alice@example.com", RoleNames.forIdentity(new dev.warden.config.RoleMapping(
                dev.warden.config.RoleMapping.Provision.PER_IDENTITY, "wd_", java.util.List.of()),
                "alice@example.com", "https://idp.example.com"), "readable names stay the default");
    }

    private static dev.warden.config.RoleMapping opaque(String key) {
        return new dev.warden.config.RoleMapping(dev.warden.config.RoleMapping.Provision.PER_IDENTITY, "wd_",
                java.util.List.of(), dev.warden.config.Secret.of(key));
    }
}
