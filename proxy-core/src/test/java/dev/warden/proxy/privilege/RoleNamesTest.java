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
}
