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
        assertEquals("line 1: Start tag expected, '<' not found\n[redacted]",
                mask("line 1: Start tag expected, '<' not found\nAnn Lee\n^"));
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
}
