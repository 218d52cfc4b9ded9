package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code environments.*.roles}: first match wins, no match is nobody, mistakes point at their line. */
class RoleSectionTest {

    @TempDir
    Path dir;

    /** Line 9 is {@code roles:}. */
    private static String policy(String roles) {
        return """
                identity:
                  issuers:
                    - issuer: https://login.example.com/realms/acme
                      audience: warden
                environments:
                  prod:
                    upstream: { host: db.internal, database: app, user: warden }
                    allow: [ { groups: [eng, dba, bots] } ]
                """ + roles.indent(4);
    }

    private Environment prod(String roles, Map<String, String> env) throws PolicyException {
        return PolicyLoader.parse(policy(roles), dir, "policy.yaml", env).environment("prod").orElseThrow();
    }

    private PolicyException failure(String roles) {
        return assertThrows(PolicyException.class, () -> prod(roles, Map.of()));
    }

    @Test
    void firstMatchingRuleDecidesAndEveryRuleKnowsItsLine() throws PolicyException {
        RoleMapping roles = prod("""
                roles:
                  provision: per_identity
                  map:
                    - { agents: true, role: app_readonly }
                    - { groups: [dba], role: app_admin }
                    - { role: app_readwrite }
                """, Map.of()).roles().orElseThrow();
        assertEquals(RoleMapping.Provision.PER_IDENTITY, roles.provision());
        assertEquals("wd_", roles.rolePrefix());
        // An agent in the dba group is still an agent: the first rule wins.
        assertEquals("app_readonly", roles.ruleFor("bot@x", Set.of("dba"), true).orElseThrow().role());
        assertEquals("app_admin", roles.ruleFor("bob@x", Set.of("dba"), false).orElseThrow().role());
        assertEquals("app_readwrite", roles.ruleFor("alice@x", Set.of("eng"), false).orElseThrow().role());
        assertEquals("policy.yaml:13:34: environments.prod.roles.map[1].role", roles.rules().get(1).origin());
        assertEquals("policy.yaml:7:57: environments.prod.upstream.user",
                prod("roles: { map: [ { role: r } ] }", Map.of()).upstream().userOrigin());
    }

    @Test
    void noMatchingRuleMeansNoRole() throws PolicyException {
        RoleMapping roles = prod("""
                roles:
                  map:
                    - { groups: [dba], role: app_admin, password_env: ADMIN_PW }
                """, Map.of("ADMIN_PW", "s3cret")).roles().orElseThrow();
        assertEquals(RoleMapping.Provision.SHARED, roles.provision());
        assertTrue(roles.ruleFor("alice@x", Set.of("eng"), false).isEmpty());
        assertEquals("s3cret", roles.rules().get(0).password().reveal());
    }

    @Test
    void withoutRolesEverySessionUsesTheUpstreamUserAndSuperuserIsNotAllowed() throws PolicyException {
        Environment env = prod("", Map.of());
        assertTrue(env.roles().isEmpty());
        assertFalse(env.upstream().allowSuperuser());
    }

    @Test
    void mistakesAreReportedAtTheirLine() {
        assertEquals("policy.yaml:9:25: environments.prod.roles.provision: unknown provision 'per_user'; "
                + "expected shared or per_identity", failure("roles: { provision: per_user, map: [ { role: r } ] }")
                .getMessage());
        assertEquals("policy.yaml:10:12: environments.prod.roles.map: at least one role is required",
                failure("roles:\n  map: []\n").getMessage());
        assertEquals("policy.yaml:9:21: environments.prod.roles.map[0].role: is required",
                failure("roles: { map: [ { groups: [eng] } ] }").getMessage());
        assertTrue(failure("""
                roles:
                  provision: per_identity
                  map: [ { role: r, password_env: PW } ]
                """).getMessage().startsWith("policy.yaml:11:"), "a per-identity rule has no password");
        assertTrue(failure("roles: { provision: per_identity, role_prefix: \"Bad-\", map: [ { role: r } ] }")
                .getMessage().contains("role_prefix: must be 1 to 16 characters"));
        assertTrue(failure("roles: { map: [ { role: " + "r".repeat(64) + " } ] }").getMessage()
                .contains("at most 63 bytes"));
        assertTrue(failure("roles: { map: [ { role: r, agent: true } ] }").getMessage()
                .contains("unknown key 'agent' (did you mean 'agents'?)"));
    }

    @Test
    void opaqueRoleNamesTakeTheirKeyFromTheEnvironmentAndMistakesPointAtTheirLine() throws PolicyException {
        String opaque = "roles: { provision: per_identity, role_names: opaque, role_name_key_env: RK, "
                + "map: [ { role: r } ] }";
        RoleMapping roles = prod(opaque, Map.of("RK", "0123456789abcdef-key")).roles().orElseThrow();
        assertTrue(roles.opaqueNames());
        assertEquals("0123456789abcdef-key", roles.nameKey().reveal());
        assertFalse(prod("roles: { provision: per_identity, map: [ { role: r } ] }", Map.of()).roles().orElseThrow()
                .opaqueNames(), "readable names are the default");
        assertEquals("policy.yaml:9:78: environments.prod.roles.role_name_key_env: environment variable RK is not "
                + "set", failure(opaque).getMessage());
        assertTrue(assertThrows(PolicyException.class, () -> prod(opaque, Map.of("RK", "short"))).getMessage()
                .contains("role_name_key_env: the key in RK is too short"));
        assertTrue(failure("roles: { provision: per_identity, role_names: opaque, map: [ { role: r } ] }")
                .getMessage().contains("role_names: role_names: opaque needs role_name_key_env"));
        assertTrue(failure("roles: { provision: per_identity, role_names: hashed, map: [ { role: r } ] }")
                .getMessage().contains("unknown role_names 'hashed'"));
        assertTrue(failure("roles: { role_names: opaque, role_name_key_env: RK, map: [ { role: r } ] }")
                .getMessage().contains("role_names only applies with provision: per_identity"));
        assertTrue(failure("roles: { provision: per_identity, role_name_key_env: RK, map: [ { role: r } ] }")
                .getMessage().contains("role_name_key_env only applies with role_names: opaque"));
    }
}
