package dev.warden.masking;

import static dev.warden.masking.Fixtures.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.MaskingSettings;
import dev.warden.config.Secret;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What the masker changes depends on whether the statement could carry a sensitive value (issue 13). */
class MaskerExposureTest {

    private static final MaskContext CLEAR = new MaskContext("alice@acme.com", Set.of("eng"), false, "prod", Set.of());
    private static final MaskContext SENSITIVE = new MaskContext("alice@acme.com", Set.of("eng"), false, "prod",
            MaskContext.UNKNOWN_READS);

    private static final List<ResultColumn> EXPRESSIONS = List.of(ResultColumn.expression("true", 16, (short) 0),
            ResultColumn.expression("count", 20, (short) 0));

    @Test
    void expressionsOfAStatementThatCarriesNothingSensitiveAreKept() {
        Masker masker = new Masker(MaskingSettings.defaults());
        assertTrue(masker.plan(EXPRESSIONS, CLEAR).masksNothing());
        assertFalse(masker.plan(EXPRESSIONS, SENSITIVE).masksNothing());
    }

    @Test
    void aPolicyThatCanMaskNothingChangesNotOneByte() {
        MaskingSettings off = new MaskingSettings(false, false, Set.of(), Secret.none(), List.of(),
                MaskingSettings.Exemption.NOBODY);
        Masker masker = new Masker(off);
        assertFalse(masker.masksAnything(SENSITIVE));
        assertTrue(masker.plan(EXPRESSIONS, SENSITIVE).masksNothing());
        String error = "invalid input syntax for type integer: \"ann.lee@acme.com\"";
        assertSame(error, masker.maskMessage(error, SENSITIVE));
    }

    @Test
    void echoedValuesAreRedactedOnlyForSensitiveStatementsButDetectedValuesAlways() {
        Masker masker = new Masker(MaskingSettings.defaults());
        String echo = "invalid input syntax for type integer: \"Blue Kettle\"";
        assertSame(echo, masker.maskMessage(echo, CLEAR));
        assertEquals("invalid input syntax for type integer: \"[redacted]\"", masker.maskMessage(echo, SENSITIVE));
        assertEquals("invalid input syntax for type integer: \"[redacted]\"",
                masker.maskMessage("invalid input syntax for type integer: \"ann.lee@acme.com\"", CLEAR));
    }

    @Test
    void columnsOfAViewOverASensitiveColumnAreMaskedUnderTheirOwnNames() {
        Masker masker = new Masker(MaskingSettings.defaults());
        MaskContext derived = new MaskContext("alice@acme.com", Set.of("eng"), false, "prod", Set.of(),
                Set.of("public.contacts.contact"));
        MaskPlan plan = masker.plan(List.of(col("contacts", "contact", 25), col("contacts", "id", 23)), derived);
        assertTrue(plan.decisions().get(0).masked());
        assertEquals("lineage:view-over-sensitive-read", plan.decisions().get(0).rule());
        assertFalse(plan.decisions().get(1).masked());
    }

    @Test
    void anExpressionOrComputedViewColumnNamedLikeAnEmailIsRedactedNotPartlyKept() {
        Masker masker = new Masker(MaskingSettings.defaults());
        List<ResultColumn> named = List.of(ResultColumn.expression("email", 25, (short) 0),
                ResultColumn.expression("phone", 25, (short) 0));
        assertEquals(List.of("lineage:expression-over-sensitive-read", "lineage:expression-over-sensitive-read"),
                masker.plan(named, SENSITIVE).decisions().stream().map(ColumnDecision::rule).toList());
        // Over nothing sensitive the name's own strategy still applies.
        assertEquals("builtin:email", masker.plan(named, CLEAR).decisions().get(0).rule());
        MaskContext views = new MaskContext("alice@acme.com", Set.of("eng"), false, "prod", Set.of(),
                Set.of("public.v.email", MaskContext.computed("public.v.email"), "public.p.email"));
        MaskPlan plan = masker.plan(List.of(col("v", "email", 25), col("p", "email", 25)), views);
        assertEquals("lineage:view-over-sensitive-read", plan.decisions().get(0).rule());
        assertEquals("builtin:email", plan.decisions().get(1).rule()); // passed through: the column's own values
        // A hash tells equal values apart: a dictionary of single characters' tokens would read substr(x, i, 1).
        Masker hashing = new Masker(Fixtures.settings(Fixtures.rule(
                new dev.warden.config.MaskingSettings.MaskingRule.ColumnNamePattern("(?i)^ref$"),
                dev.warden.config.MaskingSettings.MaskingRule.Strategy.HASH)));
        List<ResultColumn> ref = List.of(ResultColumn.expression("ref", 25, (short) 0));
        assertEquals("lineage:expression-over-sensitive-read", hashing.plan(ref, SENSITIVE).decisions().get(0).rule());
        assertEquals("column_name:(?i)^ref$", hashing.plan(ref, CLEAR).decisions().get(0).rule());
    }

    @Test
    void theNoticeNamesMaskedColumnsAndRulesUnlessTurnedOff() {
        List<ResultColumn> columns = List.of(col("customers", "id", 23), col("customers", "email", 25));
        MaskPlan plan = new Masker(MaskingSettings.defaults()).plan(columns, CLEAR);
        assertEquals("Warden masked columns of this result: email (email, rule builtin:email)", plan.notice().orElseThrow());
        MaskingSettings d = MaskingSettings.defaults();
        MaskingSettings quiet = new MaskingSettings(d.builtinDetectors(), d.valueDetection(), d.valueDetectionOffIn(),
                d.tokenKey(), d.rules(), d.unmaskedFor(), false, false);
        assertTrue(new Masker(quiet).plan(columns, CLEAR).notice().isEmpty());
        assertTrue(new Masker(d).plan(List.of(col("customers", "id", 23)), CLEAR).notice().isEmpty());
    }

    @Test
    void masksSourceColumnFollowsRulesAndNameDetectors() {
        Masker masker = new Masker(MaskingSettings.defaults());
        assertTrue(masker.masksSourceColumn("public", "customers", "email", 25));
        assertTrue(masker.masksSourceColumn("public", "customers", "ssn", 25));
        assertFalse(masker.masksSourceColumn("public", "products", "title", 25));
    }
}
