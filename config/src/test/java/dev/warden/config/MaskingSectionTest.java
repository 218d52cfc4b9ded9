package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.MaskingSettings.MaskingRule;
import dev.warden.config.MaskingSettings.MaskingRule.Strategy;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MaskingSectionTest {

    @TempDir
    Path dir;

    private static final Map<String, String> ENV = Map.of("WARDEN_MASKING_KEY", "0123456789abcdef0123456789abcdef");

    private MaskingSettings masking(String section) throws PolicyException {
        return PolicyLoader.parse(MinimalPolicy.TEXT + section, dir, "policy.yaml", ENV).masking();
    }

    private String failure(String section) {
        return assertThrows(PolicyException.class, () -> masking(section)).getMessage();
    }

    @Test
    void absentSectionMeansDefaultsOnValueDetectionOnNoRulesNobodyExempt() throws Exception {
        MaskingSettings s = PolicyLoader.parse(MinimalPolicy.TEXT, dir, "policy.yaml", Map.of()).masking();
        assertEquals(MaskingSettings.defaults(), s);
        assertTrue(s.builtinDetectors());
        assertTrue(s.valueDetectionIn("prod"));
        assertTrue(s.tokenKey().isEmpty());
        assertFalse(s.unmaskedFor().exempts("alice", Set.of("pii-readers"), false));
    }

    @Test
    void noticeIsOnAndFiltersUnprotectedUnlessSaidOtherwise() throws Exception {
        MaskingSettings d = masking("masking:\n  defaults: on\n");
        assertTrue(d.notice());
        assertFalse(d.protectFilters());
        MaskingSettings s = masking("masking:\n  notice: off\n  protect_filters: true\n");
        assertFalse(s.notice());
        assertTrue(s.protectFilters());
        assertTrue(failure("masking:\n  protect_filters: maybe\n").contains("must be on or off"));
    }

    @Test
    void completeSectionLoadsEveryField() throws Exception {
        MaskingSettings s = masking("""
                masking:
                  defaults: on
                  value_detection: on
                  value_detection_off_in: [staging]
                  token_key_env: WARDEN_MASKING_KEY
                  rules:
                    - { column: public.users.email, strategy: email }
                    - { column_name: "(?i)ssn|social_security", strategy: redact }
                    - { type: bytea, strategy: redact }
                    - { type: "character varying[]", strategy: hash }
                    - { detector: card, strategy: partial, keep: 6 }
                    - { column: users.phone, strategy: keep }
                    - { column: Public.Users.Motto, strategy: fixed, value: "n/a" }
                  unmasked_for: { groups: [pii-readers], users: [dpo@acme.com], agents: never }
                """);
        assertTrue(s.builtinDetectors());
        assertTrue(s.valueDetectionIn("prod"));
        assertFalse(s.valueDetectionIn("staging"));
        assertEquals("0123456789abcdef0123456789abcdef", s.tokenKey().reveal());
        assertEquals(List.of(
                new MaskingRule(new MaskingRule.Column(Optional.of("public"), "users", "email"), Strategy.EMAIL, 4,
                        Optional.empty()),
                new MaskingRule(new MaskingRule.ColumnNamePattern("(?i)ssn|social_security"), Strategy.REDACT, 4,
                        Optional.empty()),
                new MaskingRule(new MaskingRule.TypeName("bytea"), Strategy.REDACT, 4, Optional.empty()),
                new MaskingRule(new MaskingRule.TypeName("varchar[]"), Strategy.HASH, 4, Optional.empty()),
                new MaskingRule(new MaskingRule.Detector("card"), Strategy.PARTIAL, 6, Optional.empty()),
                new MaskingRule(new MaskingRule.Column(Optional.empty(), "users", "phone"), Strategy.KEEP, 4,
                        Optional.empty()),
                new MaskingRule(new MaskingRule.Column(Optional.of("public"), "users", "motto"), Strategy.FIXED, 4,
                        Optional.of("n/a"))), s.rules());
        assertTrue(s.unmaskedFor().exempts("bob", Set.of("pii-readers"), false));
        assertTrue(s.unmaskedFor().exempts("dpo@acme.com", Set.of(), false));
        assertFalse(s.unmaskedFor().exempts("bot", Set.of("pii-readers"), true), "agents are never exempt");
    }

    @Test
    void offSwitchesAndAgentsAllowed() throws Exception {
        MaskingSettings s = masking("""
                masking:
                  defaults: off
                  value_detection: false
                  unmasked_for: { groups: [support-bots], agents: allowed }
                """);
        assertFalse(s.builtinDetectors());
        assertFalse(s.valueDetectionIn("prod"));
        assertTrue(s.unmaskedFor().exempts("bot", Set.of("support-bots"), true));
        assertTrue(s.tokenKey().isEmpty());
    }

    @Test
    void badRegexIsReportedAtItsLineAndColumn() {
        String message = failure("""
                masking:
                  rules:
                    - { column_name: "(?i)ssn|(social", strategy: redact }
                """);
        assertTrue(message.startsWith("policy.yaml:15:22: masking.rules[0].column_name: invalid regular expression: "
                + "Unclosed group"), message);
    }

    @Test
    void unknownStrategySuggestsTheNearestName() {
        String message = failure("""
                masking:
                  rules:
                    - column: users.email
                      strategy: emial
                """);
        assertEquals("policy.yaml:16:17: masking.rules[0].strategy: unknown strategy 'emial' (did you mean 'email'?)",
                message);
    }

    @Test
    void missingTokenKeyVariableIsALoadError() throws Exception {
        String section = """
                masking:
                  token_key_env: NOT_SET_ANYWHERE
                """;
        assertEquals("policy.yaml:14:18: masking.token_key_env: environment variable NOT_SET_ANYWHERE is not set "
                + "(remove token_key_env for a random per-process key: tokens then only match within one process)",
                failure(section));
    }

    @Test
    void shortTokenKeyIsRefused() {
        var e = assertThrows(PolicyException.class, () -> PolicyLoader.parse(MinimalPolicy.TEXT + """
                masking:
                  token_key_env: K
                """, dir, "policy.yaml", Map.of("K", "short")));
        assertTrue(e.getMessage().contains("too short"), e.getMessage());
    }

    @Test
    void ruleMistakesAreLocated() {
        assertTrue(failure("""
                masking:
                  rules:
                    - { strategy: redact }
                """).contains("a rule needs one of column, column_name, type or detector"));
        assertTrue(failure("""
                masking:
                  rules:
                    - { column: email, strategy: redact }
                """).contains("is not table.column or schema.table.column"));
        assertTrue(failure("""
                masking:
                  rules:
                    - { column: users.email, column_name: mail, strategy: redact }
                """).contains("not column and column_name"));
        assertTrue(failure("""
                masking:
                  rules:
                    - { type: txet, strategy: redact }
                """).contains("unknown type 'txet' (did you mean 'text'?)"));
        assertTrue(failure("""
                masking:
                  rules:
                    - { detector: crad, strategy: redact }
                """).contains("unknown detector 'crad' (did you mean 'card'?)"));
        assertTrue(failure("""
                masking:
                  rules:
                    - { detector: card, strategy: redact, keep: 2 }
                """).contains("keep only applies to the partial strategy"));
        assertTrue(failure("""
                masking:
                  rules:
                    - { detector: card, strategy: fixed }
                """).contains("the fixed strategy needs a value"));
        assertTrue(failure("""
                masking:
                  defaults: maybe
                """).contains("policy.yaml:14:13: masking.defaults: must be on or off"));
        assertTrue(failure("""
                masking:
                  unmasked_for: { agents: sometimes }
                """).contains("agents must be never or allowed"));
        assertTrue(failure("""
                masking:
                  rule: []
                """).contains("unknown key 'rule' (did you mean 'rules'?)"));
    }

    @Test
    void everyDetectorNameIsANameOrValueDetector() {
        for (String d : MaskingSettings.DETECTORS) {
            assertTrue(MaskingSettings.NAME_DETECTORS.contains(d) || MaskingSettings.VALUE_DETECTORS.contains(d), d);
        }
    }
}
