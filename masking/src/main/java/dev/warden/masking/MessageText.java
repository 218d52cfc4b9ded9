package dev.warden.masking;

import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Masks text the server sends outside result rows: the fields of ErrorResponse and NoticeResponse, the payload
 * of a NotificationResponse, a ParameterStatus value. Where PostgreSQL echoes a value it is redacted by
 * construction, whatever the value looks like: the quoted input of {@code invalid input syntax ...: "v"} and
 * {@code value "v" is out of range}, the values of {@code Key (cols)=(vals)} and
 * {@code Failing row contains (vals)}, JSON's {@code Token "v" is invalid}, and bound parameters quoted in a
 * CONTEXT line ({@code parameter $1 = 'v'}), the input JSON's CONTEXT line and libxml's DETAIL quote. What remains is scanned by the value detectors, and every hit is
 * redacted. Identifiers (relation, column and constraint names) are kept.
 */
final class MessageText {

    static final String REDACTED = "[redacted]";

    /** {@code ...: "value"} ending a message (invalid input syntax, malformed literal, invalid enum value...). */
    private static final Pattern TRAILING_QUOTED = Pattern.compile(
            "((?:invalid input syntax|invalid input value|malformed|invalid|value too long|could not parse|"
                    + "unrecognized|incorrect|cannot cast|date/time field value out of range|"
                    + "time zone|invalid byte sequence)[^\\n]*?: )\"(.*)\"", Pattern.DOTALL);
    private static final Pattern VALUE_OUT_OF_RANGE = Pattern.compile(
            "(value |Token |string |number |numeric field value |input |character |date |timestamp |time |"
                    + "interval |bit string |field value )\"(.*?)\"(?= is | must | does | out of | too | for |$)",
            Pattern.DOTALL);
    private static final Pattern KEY_VALUES = Pattern.compile("(Key \\((?:[^()]|\\([^()]*\\))*\\)=\\()(.*)(\\))",
            Pattern.DOTALL);
    private static final Pattern FAILING_ROW = Pattern.compile("(Failing row contains \\()(.*)(\\))",
            Pattern.DOTALL);
    private static final Pattern PARAMETER = Pattern.compile("(\\$\\d+ = )'((?:[^']|'')*)'");
    /** JSON's CONTEXT line quotes the input up to the error: {@code JSON data, line 1: value...}. */
    private static final Pattern JSON_DATA = Pattern.compile("(JSON data, line \\d+: )([^\\n]*)");
    /** libxml's DETAIL quotes the input on the lines after its message: {@code line 1: msg\ninput\n^}. */
    private static final Pattern XML_INPUT = Pattern.compile("\\A(line \\d+: [^\\n]*\\n)(.*)\\z", Pattern.DOTALL);

    private MessageText() {}

    /** {@code text} with echoed values and detected values redacted; the same instance when nothing changed. */
    static String mask(String text, Set<String> detectors) {
        return mask(text, true, detectors);
    }

    /**
     * @param echoedValues whether values PostgreSQL echoes are redacted (the statement could carry a sensitive
     *                     value); detected values are redacted either way
     */
    static String mask(String text, boolean echoedValues, Set<String> detectors) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        String out = text;
        if (echoedValues) {
            out = echoed(out);
        }
        out = detected(out, detectors);
        return out.equals(text) ? text : out;
    }

    private static String echoed(String text) {
        String out = text;
        out = replaceGroup(out, TRAILING_QUOTED, 2, "\"" + REDACTED + "\"", true);
        out = replaceGroup(out, VALUE_OUT_OF_RANGE, 2, "\"" + REDACTED + "\"", true);
        out = replaceGroup(out, KEY_VALUES, 2, REDACTED, false);
        out = replaceGroup(out, FAILING_ROW, 2, REDACTED, false);
        out = replaceGroup(out, PARAMETER, 2, "'" + REDACTED + "'", true);
        out = replaceGroup(out, JSON_DATA, 2, REDACTED, false);
        out = replaceGroup(out, XML_INPUT, 2, REDACTED, false);
        return out;
    }

    /** Replaces group {@code g} of every match (with the quoting in {@code replacement} when {@code quoted}). */
    private static String replaceGroup(String text, Pattern p, int g, String replacement, boolean quoted) {
        Matcher m = p.matcher(text);
        if (!m.find()) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        int copied = 0;
        do {
            int start = quoted ? m.start(g) - 1 : m.start(g);
            int end = quoted ? m.end(g) + 1 : m.end(g);
            out.append(text, copied, start).append(replacement);
            copied = end;
        } while (m.find());
        return out.append(text, copied, text.length()).toString();
    }

    /** Every value a detector recognises, redacted; scanned again after each hit. */
    private static String detected(String text, Set<String> detectors) {
        if (detectors.isEmpty()) {
            return text;
        }
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        StringBuilder out = null;
        int copied = 0;
        int from = 0;
        while (from < bytes.length) {
            ValueDetectors.Hit hit = ValueDetectors.scan(bytes, from, bytes.length - from, detectors);
            if (hit == null) {
                break;
            }
            if (out == null) {
                out = new StringBuilder(text.length());
            }
            out.append(new String(bytes, copied, hit.start() - copied, StandardCharsets.UTF_8)).append(REDACTED);
            copied = hit.end();
            from = Math.max(hit.end(), from + 1);
        }
        if (out == null) {
            return text;
        }
        return out.append(new String(bytes, copied, bytes.length - copied, StandardCharsets.UTF_8)).toString();
    }
}
