package dev.warden.masking;

import static dev.warden.masking.Fixtures.ALICE;
import static dev.warden.masking.Fixtures.col;
import static dev.warden.masking.Fixtures.rule;
import static dev.warden.masking.Fixtures.settings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.MaskingSettings.MaskingRule;
import dev.warden.config.MaskingSettings.MaskingRule.Strategy;
import dev.warden.config.MaskingSettings;
import dev.warden.config.Secret;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MaskerTest {

    private static final List<ResultColumn> CUSTOMERS = List.of(
            col("customers", "id", 23), col("customers", "name", 25), col("customers", "email", 1043),
            col("customers", "card_number", 25), col("customers", "ssn", 25), col("customers", "api_key", 25),
            col("customers", "date_of_birth", 1082), col("customers", "phone", 25), col("customers", "created", 1184));

    private static List<String> summary(MaskPlan plan) {
        return plan.decisions().stream()
                .map(d -> d.name() + "=" + (d.masked() ? d.strategy() + "@" + d.rule() : d.valueScanned() ? "scan" : "keep"))
                .toList();
    }

    @Test
    void builtInNameDetectorsMaskWithoutAnyRule() {
        MaskPlan plan = new Masker(MaskingSettings.defaults()).plan(CUSTOMERS, ALICE);
        assertEquals(List.of("id=keep", "name=scan", "email=email@builtin:email", "card_number=partial(keep=4)@builtin:card",
                "ssn=redact@builtin:ssn", "api_key=redact@builtin:secret", "date_of_birth=redact@builtin:dob",
                "phone=partial(keep=4)@builtin:phone", "created=keep"), summary(plan));
        assertFalse(plan.masksNothing());
    }

    @Test
    void explicitRulesComeBeforeDetectorsInOrderColumnPatternType() {
        Masker masker = new Masker(settings(
                rule(new MaskingRule.Column(Optional.of("public"), "customers", "email"), Strategy.TOKENIZE),
                rule(new MaskingRule.Column(Optional.empty(), "customers", "phone"), Strategy.KEEP),
                rule(new MaskingRule.ColumnNamePattern("(?i)^name$"), Strategy.PARTIAL),
                rule(new MaskingRule.TypeName("timestamptz"), Strategy.REDACT),
                rule(new MaskingRule.Detector("card"), Strategy.HASH)));
        List<String> s = summary(masker.plan(CUSTOMERS, ALICE));
        assertEquals("email=tokenize@column:public.customers.email", s.get(2));
        assertEquals("phone=keep", s.get(7), "an explicit keep also skips value detection");
        assertEquals("name=partial(keep=4)@column_name:(?i)^name$", s.get(1));
        assertEquals("created=redact@type:timestamptz", s.get(8));
        assertEquals("card_number=hash@detector:card", s.get(3));
    }

    @Test
    void defaultsOffLeavesOnlyExplicitRulesAndNamedDetectors() {
        MaskingSettings off = new MaskingSettings(false, true, Set.of(), Secret.none(),
                List.of(rule(new MaskingRule.Detector("ssn"), Strategy.REDACT)), MaskingSettings.Exemption.NOBODY);
        List<String> s = summary(new Masker(off).plan(CUSTOMERS, ALICE));
        assertEquals("email=scan", s.get(2), "not masked by name, only scanned");
        assertEquals("id=keep", s.get(0));
        assertEquals("ssn=redact@detector:ssn", s.get(4));
        assertEquals("name=scan", s.get(1), "the ssn rule enables the us_ssn value detector");
    }

    @Test
    void nothingToDoMeansRowsAreRelayedUndecoded() {
        List<ResultColumn> products = List.of(col("products", "id", 23), col("products", "price", 1700),
                col("products", "title", 25));
        MaskingSettings noValueDetection = new MaskingSettings(true, false, Set.of(), Secret.none(), List.of(),
                MaskingSettings.Exemption.NOBODY);
        assertTrue(new Masker(noValueDetection).plan(products, ALICE).masksNothing());
        assertFalse(new Masker(MaskingSettings.defaults()).plan(products, ALICE).masksNothing(),
                "a text column is value-scanned");
        MaskingSettings offInProd = new MaskingSettings(true, true, Set.of("prod"), Secret.none(), List.of(),
                MaskingSettings.Exemption.NOBODY);
        assertTrue(new Masker(offInProd).plan(products, ALICE).masksNothing());
        assertFalse(new Masker(offInProd).plan(products,
                new MaskContext("a", Set.of(), false, "staging", Set.of())).masksNothing());
    }

    @Test
    void piiReadersSeeClearValuesButAgentsNeverUnlessAllowed() {
        MaskingSettings.Exemption readers = new MaskingSettings.Exemption(Set.of("pii-readers"), Set.of(), false);
        MaskingSettings s = new MaskingSettings(true, true, Set.of(), Secret.none(), List.of(), readers);
        MaskContext reader = new MaskContext("bob", Set.of("pii-readers"), false, "prod", Set.of());
        MaskContext agent = new MaskContext("copilot", Set.of("pii-readers"), true, "prod", Set.of());
        MaskPlan clear = new Masker(s).plan(CUSTOMERS, reader);
        assertTrue(clear.masksNothing());
        assertEquals("unmasked_for", clear.decisions().get(2).rule());
        assertFalse(new Masker(s).plan(CUSTOMERS, agent).masksNothing(), "agents are never exempt by default");
        MaskingSettings agentsAllowed = new MaskingSettings(true, true, Set.of(), Secret.none(), List.of(),
                new MaskingSettings.Exemption(Set.of("pii-readers"), Set.of(), true));
        assertTrue(new Masker(agentsAllowed).plan(CUSTOMERS, agent).masksNothing());
    }

    @Test
    void expressionsOverSensitiveReadsAreMaskedFailClosed() {
        Masker masker = new Masker(MaskingSettings.defaults());
        ResultColumn upper = ResultColumn.expression("upper", 25, (short) 0);
        ResultColumn count = ResultColumn.expression("count", 20, (short) 0);
        ResultColumn rowJson = ResultColumn.expression("row_to_json", 114, (short) 0);
        ResultColumn wholeRow = ResultColumn.expression("u", 16390, (short) 1);
        List<ResultColumn> columns = List.of(upper, count, rowJson, wholeRow);
        for (Set<String> reads : List.of(Set.of("users.email"), Set.of("public.users.ssn"), Set.of("users.*"),
                Set.of("id", "card_number"), MaskContext.UNKNOWN_READS)) {
            MaskPlan plan = masker.plan(columns, new MaskContext("a", Set.of(), false, "prod", reads));
            for (ColumnDecision d : plan.decisions()) {
                assertTrue(d.masked(), reads + " " + d);
                assertEquals("lineage:expression-over-sensitive-read", d.rule());
            }
        }
        MaskPlan harmless = masker.plan(columns,
                new MaskContext("a", Set.of(), false, "prod", Set.of("products.title", "products.price")));
        assertEquals(List.of("upper=scan", "count=keep", "row_to_json=scan", "u=keep"), summary(harmless));
    }

    @Test
    void anExplicitKeepOnAColumnMakesItsReadsHarmless() {
        Masker masker = new Masker(settings(
                rule(new MaskingRule.Column(Optional.empty(), "users", "phone"), Strategy.KEEP)));
        MaskContext ctx = new MaskContext("a", Set.of(), false, "prod", Set.of("users.phone"));
        assertFalse(masker.plan(List.of(ResultColumn.expression("p", 25, (short) 0)), ctx).decisions().get(0).masked());
    }

    @Test
    void aliasedColumnsAreCheckedByBothNames() {
        Masker masker = new Masker(MaskingSettings.defaults());
        ResultColumn aliased = ResultColumn.fromTable("public", "users", "email", "contact", 25, -1, (short) 0);
        ResultColumn misleading = ResultColumn.fromTable("public", "users", "id", "email", 23, -1, (short) 0);
        MaskPlan plan = masker.plan(List.of(aliased, misleading), ALICE);
        assertTrue(plan.decisions().get(0).masked());
        assertTrue(plan.decisions().get(1).masked(), "masking more is the safe side");
    }

    @Test
    void nameDetectorsSplitWords() {
        assertEquals(Optional.of("email"), NameDetectors.detect("customerEmail"));
        assertEquals(Optional.of("email"), NameDetectors.detect("email_address"));
        assertEquals(Optional.of("phone"), NameDetectors.detect("home_tel"));
        assertEquals(Optional.empty(), NameDetectors.detect("hotel"));
        assertEquals(Optional.of("ssn"), NameDetectors.detect("SOCIAL_SECURITY_NO"));
        assertEquals(Optional.of("card"), NameDetectors.detect("CreditCard"));
        assertEquals(Optional.of("cvv"), NameDetectors.detect("cvv2"));
        assertEquals(Optional.of("dob"), NameDetectors.detect("date_of_birth"));
        assertEquals(Optional.of("address"), NameDetectors.detect("zip"));
        assertEquals(Optional.of("secret"), NameDetectors.detect("stripe_api_key"));
        assertEquals(Optional.empty(), NameDetectors.detect("product_name"));
        assertEquals(Optional.empty(), NameDetectors.detect("tokens_used"));
    }

    /**
     * A column whose own name says nothing holds a secret in a table named for one: {@code api_keys.key} was guarded
     * by value detection alone, and {@code reverse(key)} came out in clear (a helper's pass, 2026-12-05).
     */
    @Test
    void aGenericColumnOfATableNamedForSecretsIsASecret() {
        assertEquals(Optional.of("secret"), NameDetectors.detect("api_keys", "key"));
        assertEquals(Optional.of("secret"), NameDetectors.detect("user_credentials", "value"));
        assertEquals(Optional.of("secret"), NameDetectors.detect("AccessTokens", "hash"));
        assertEquals(Optional.of("secret"), NameDetectors.detect("passwords", "data"));
        assertEquals(Optional.empty(), NameDetectors.detect("settings", "key"));
        assertEquals(Optional.empty(), NameDetectors.detect("translation_keys", "value"));
        assertEquals(Optional.empty(), NameDetectors.detect("api_keys", "owner"));
        assertEquals(Optional.of("email"), NameDetectors.detect("api_keys", "owner_email"));
        MaskPlan plan = new Masker(MaskingSettings.defaults()).plan(List.of(col("api_keys", "id", 23),
                col("api_keys", "key", 25)), ALICE);
        assertEquals(List.of("id=keep", "key=redact@builtin:secret"), summary(plan));
    }

    @Test
    void typeTableCoversEveryTypeNameTheConfigAccepts() {
        Set<String> known = new java.util.HashSet<>();
        PgType.known().forEach(t -> known.add(t.name()));
        for (String canonical : MaskingSettings.TYPE_NAMES.values()) {
            assertTrue(known.contains(canonical), canonical);
            assertTrue(known.contains(canonical + "[]") || canonical.equals("unknown"), canonical + "[]");
        }
        for (String d : MaskingSettings.VALUE_DETECTORS) {
            assertTrue(Masker.VALUE_DEFAULTS.containsKey(d), d);
        }
        for (String d : MaskingSettings.NAME_DETECTORS) {
            assertTrue(Masker.NAME_DEFAULTS.containsKey(d), d);
        }
    }
}
