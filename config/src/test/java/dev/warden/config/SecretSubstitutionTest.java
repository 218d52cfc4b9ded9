package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Values from {@code ${VAR}} may be secrets: errors name the variable, and clients never see them. */
class SecretSubstitutionTest {

    @TempDir
    Path dir;

    private static final String POLICY = """
            identity:
              issuers: [ { issuer: "https://login.example.com/", audience: warden } ]
            environments:
              prod:
                upstream: { host: db.internal, port: "${DB_PORT}", database: app, user: warden }
                allow: [ { groups: [eng] } ]
            """;

    @Test
    void anInvalidSubstitutedValueIsReportedByItsVariableNeverByItsValue() {
        String message = assertThrows(PolicyException.class, () -> PolicyLoader.parse(POLICY, dir, "policy.yaml",
                Map.of("DB_PORT", "hunter2-secret"))).getMessage();
        assertFalse(message.contains("hunter2-secret"), message);
        assertTrue(message.startsWith("policy.yaml:5:") && message.contains("${DB_PORT}"), message);
    }

    @Test
    void aRuleMessageCannotCarryASubstitutedValueToClients() {
        String message = assertThrows(PolicyException.class, () -> PolicyLoader.parse(POLICY + """
                guardrails:
                  rules:
                    - { name: r, match: { statements: [DROP] }, action: block, message: "ask ${ONCALL_TOKEN}" }
                """, dir, "policy.yaml", Map.of("DB_PORT", "5432", "ONCALL_TOKEN", "tok-123456"))).getMessage();
        assertFalse(message.contains("tok-123456"), message);
        assertTrue(message.contains("must not use ${...}: clients see this message"), message);
    }

    @Test
    void aValidSubstitutionStillLoads() throws Exception {
        assertEquals(5432, PolicyLoader.parse(POLICY, dir, "policy.yaml", Map.of("DB_PORT", "5432"))
                .environments().get("prod").upstream().port());
    }
}
