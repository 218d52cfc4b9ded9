package dev.warden.masking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** Echoed values are redacted by construction, whatever they look like; names and codes are kept. */
class MessageTextTest {

    private static String mask(String text) {
        return MessageText.mask(text, Set.of("email", "us_ssn", "card"));
    }

    @Test
    void invalidInputEchoesAreRedactedEvenWhenNoDetectorKnowsTheValue() {
        assertEquals("invalid input syntax for type integer: \"[redacted]\"",
                mask("invalid input syntax for type integer: \"Ann Lee|gold member\""));
        assertEquals("value \"[redacted]\" is out of range for type integer",
                mask("value \"99999999999\" is out of range for type integer"));
        assertEquals("invalid input value for enum mood: \"[redacted]\"",
                mask("invalid input value for enum mood: \"secret plan\""));
        assertEquals("Token \"[redacted]\" is invalid.", mask("Token \"Ann\" is invalid."));
    }

    @Test
    void jsonAndXmlInputQuotesAreRedacted() {
        assertEquals("JSON data, line 1: [redacted]", mask("JSON data, line 1: Ann Lee..."));
        assertEquals("line 1: [redacted]", mask("line 1: Start tag expected, '<' not found\nAnn Lee\n^"));
        // libxml's message names what it read (a140 F1: SSNs made into tag and entity names).
        assertEquals("line 1: [redacted]", mask("line 1: Opening and ending tag mismatch: adekhhkc line 1 and b\n"
                + "<adekhhkc>x</b>\n^"));
        assertEquals("line 1: [redacted]", mask("line 1: Entity 'rosaZduboisQmail' not defined"));
    }

    @Test
    void keyValuesAreRedactedWhateverTheIndexExpressionLooksLike() {
        // a140 F3: an expression index nested two calls deep, deparsed in the DETAIL.
        assertEquals("Key (translate(lower(email), '@.0123456789'::text, 'QZabcdefghij'::text))=([redacted]) already "
                + "exists.", MessageText.echoed("Key (translate(lower(email), '@.0123456789'::text, "
                + "'QZabcdefghij'::text))=(benZtanakadQmailZexampleZorg) already exists."));
        // A )=( inside the expression starts the redaction sooner, over the values too.
        assertEquals("Key (lower((x || ')=([redacted]) already exists.",
                MessageText.echoed("Key (lower((x || ')=('::text)))=(secret) already exists."));
    }

    @Test
    void keyAndRowDetailsLoseTheirValuesButKeepTheirColumns() {
        assertEquals("Key (name, team)=([redacted]) already exists.",
                mask("Key (name, team)=(Ann Lee, (blue)) already exists."));
        assertEquals("Key (lower(name))=([redacted]) already exists.",
                mask("Key (lower(name))=(ann) already exists."));
        assertEquals("Failing row contains ([redacted]).", mask("Failing row contains (1, Ann, null)."));
    }

    @Test
    void boundParametersInContextAreRedacted() {
        assertEquals("unnamed portal parameter $1 = '[redacted]'",
                mask("unnamed portal parameter $1 = 'Ann O''Neil'"));
        assertEquals("extended query with parameters: $1 = '[redacted]', $2 = '[redacted]'",
                mask("extended query with parameters: $1 = 'Ann', $2 = 'Lee'"));
    }

    @Test
    void detectedValuesAnywhereAreRedacted() {
        assertEquals("got [redacted],[redacted]", mask("got ann@acme.com,bob@acme.com"));
    }

    @Test
    void namesAndOrdinaryTextAreKept() {
        String text = "relation \"customers\" does not exist";
        assertSame(text, mask(text));
        String unique = "duplicate key value violates unique constraint \"customers_email_key\"";
        assertSame(unique, mask(unique));
    }
    private static String aboutStatement(String text, MessageNames names) {
        return MessageText.mask(text, true, Set.of("email"), names);
    }

    @Test
    void aQuotedTextNeitherAFieldNorAWordOfTheStatementIsRedacted() {
        MessageNames names = new MessageNames(java.util.List.of("people_pkey"),
                java.util.List.of("SELECT email, no_such FROM people WHERE tz = 1"), false);
        assertEquals("relation \"[redacted]\" does not exist",
                aboutStatement("relation \"zq_feather_quixmail\" does not exist", names));
        assertEquals("column \"no_such\" does not exist", aboutStatement("column \"no_such\" does not exist", names));
        assertEquals("duplicate key value violates unique constraint \"people_pkey\"",
                aboutStatement("duplicate key value violates unique constraint \"people_pkey\"", names));
        // A word only whole: "no" is not named by "no_such".
        assertEquals("time zone \"[redacted]\" not recognized", aboutStatement("time zone \"no\" not recognized", names));
        // Quotes in the value pair with the message's own: everything between the first and last is redacted.
        assertEquals("time zone \"[redacted]\" not recognized",
                aboutStatement("time zone \"no_such\"zq\"feather\" not recognized", names));
        assertEquals("time zone \"[redacted]\" not recognized",
                aboutStatement("time zone \"no_such\" zq \"no_such\" not recognized", names));
        assertEquals("time zone \"[redacted]\" not recognized",
                aboutStatement("time zone \"no_such\" zq \"\" not recognized", names));
        assertEquals("time zone \"[redacted]\"", aboutStatement("time zone \"no_such\"zq\" not recognized", names));
        // Two names the server set from the catalog, and one the statement wrote, are kept.
        MessageNames fields = new MessageNames(java.util.List.of("people", "people_email_key"),
                java.util.List.of("UPDATE people SET no_such = 1"), false);
        assertEquals("column \"no_such\" of \"people\" and \"people_email_key\"",
                aboutStatement("column \"no_such\" of \"people\" and \"people_email_key\"", fields));
        // Text about no statement, or a statement over nothing sensitive, keeps its quotes.
        assertEquals("relation \"zq\" does not exist",
                MessageText.mask("relation \"zq\" does not exist", false, Set.of("email"), names));
    }

    @Test
    void anUnquotedNameLookedUpIsRedactedUnlessTheParserNamedTypes() {
        MessageNames names = new MessageNames(java.util.List.of(), java.util.List.of("SELECT x::regoper FROM t"), false);
        assertEquals("operator does not exist: [redacted]", aboutStatement("operator does not exist: zq_feather", names));
        MessageNames hinted = new MessageNames(java.util.List.of(), java.util.List.of("SELECT a = 1 FROM t"), true);
        assertEquals("operator does not exist: text = integer",
                aboutStatement("operator does not exist: text = integer", hinted));
    }

    @Test
    void anUnquotedNumberHexByteOrPartitionKeyIsRedactedButDigitsInNamesAreKept() {
        MessageNames names = new MessageNames(java.util.List.of("t1_pkey"), java.util.List.of("SELECT chr(x) FROM t1"),
                false);
        java.util.Map<String, String> masked = java.util.Map.of(
                "requested character too large for encoding: 536228471",
                "requested character too large for encoding: [redacted]",
                "date field value out of range: 2000-01-536228471",
                "date field value out of range: [redacted]-[redacted]-[redacted]",
                "invalid byte sequence for encoding \"UTF8\": 0xf0 0x7a 0x71",
                "invalid byte sequence for encoding \"[redacted]\": [redacted] [redacted] [redacted]",
                "duplicate key value violates unique constraint \"t1_pkey\"",
                "duplicate key value violates unique constraint \"t1_pkey\"",
                "parameter $1 = '536228471'", "parameter $1 = '[redacted]'",
                "Partition key of the failing row contains (lower(email)) = (zq feather).",
                "Partition key of the failing row contains (lower(email)) = ([redacted]).");
        masked.forEach((text, expected) -> assertEquals(expected, aboutStatement(text, names)));
        // A number the statement itself holds, as a whole word, is redacted too: which of the statement's numbers
        // the server prints can be chosen by a value (set_bit's index, the line of the RAISE a branch ran).
        MessageNames written = new MessageNames(java.util.List.of(), java.util.List.of(
                "ALTER OPERATOR FAMILY f USING hash ADD FUNCTION 1 fn13(int4)"), false);
        assertEquals("hash function [redacted] must return integer",
                aboutStatement("hash function 1 must return integer", written));
        assertEquals("hash function [redacted] must return integer",
                aboutStatement("hash function 13 must return integer", written));
        // Not about a statement over sensitive data: kept.
        String clear = "requested character too large for encoding: 536228471";
        assertSame(clear, MessageText.mask(clear, false, Set.of("email"), names));
    }
}
