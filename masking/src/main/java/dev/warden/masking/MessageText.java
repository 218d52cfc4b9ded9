package dev.warden.masking;

import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Masks text the server sends outside result rows: the fields of ErrorResponse and NoticeResponse, the payload
 * of a NotificationResponse, a ParameterStatus value. Where PostgreSQL echoes a value it is redacted by
 * construction, whatever the value looks like: the quoted input of {@code invalid input syntax ...: "v"} and
 * {@code value "v" is out of range}, the values of {@code Key (cols)=(vals)}, {@code Failing row contains (vals)}
 * and a partition key's {@code failing row contains (cols) = (vals)}, JSON's {@code Token "v" is invalid}, and
 * bound parameters quoted in a CONTEXT line ({@code parameter $1 = 'v'}), the input JSON's CONTEXT line and
 * libxml's DETAIL quote; in a message about a statement, every number outside quotes too. What remains is
 * scanned by the value detectors, and every hit is redacted. Identifiers (relation, column and constraint names) are kept.
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
    /** A row no partition takes: {@code Partition key of the failing row contains (cols) = (vals).} */
    private static final Pattern PARTITION_KEY = Pattern.compile(
            "(failing row contains \\(.*?\\) = \\()(.*)(\\))", Pattern.DOTALL);
    private static final Pattern PARAMETER = Pattern.compile("(\\$\\d+ = )'((?:[^']|'')*)'");
    /** JSON's CONTEXT line quotes the input up to the error: {@code JSON data, line 1: value...}. */
    private static final Pattern JSON_DATA = Pattern.compile("(JSON data, line \\d+: )([^\\n]*)");
    /**
     * Messages that end with a name looked up, unquoted: an operator name an input function could not find (the
     * parser's own message, with its hint, names argument types instead), a dotted name it could not resolve.
     */
    private static final Pattern UNQUOTED_NAME = Pattern.compile("((?:operator does not exist|"
            + "improper qualified name \\(too many dotted names\\)|cross-database references are not implemented): )"
            + "(.*)", Pattern.DOTALL);
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
        return mask(text, echoedValues, detectors, null);
    }

    /**
     * @param names what an error's or notice's text may name in clear when {@code echoedValues}: every other
     *              quoted text, and every other name an unquoted lookup message ends with, is redacted; null for
     *              text that is no server message about a statement (a notification's payload, a parameter)
     */
    static String mask(String text, boolean echoedValues, Set<String> detectors, MessageNames names) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        String out = text;
        if (echoedValues) {
            out = echoed(out);
            if (names != null) {
                out = unquotedName(out, names);
                out = quotedNames(out, names);
                out = unquotedNumbers(out, names);
            }
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
        out = replaceGroup(out, PARTITION_KEY, 2, REDACTED, false);
        out = replaceGroup(out, PARAMETER, 2, "'" + REDACTED + "'", true);
        out = replaceGroup(out, JSON_DATA, 2, REDACTED, false);
        out = replaceGroup(out, XML_INPUT, 2, REDACTED, false);
        return out;
    }

    /**
     * The text with its quoted parts kept only when each is a name ({@link MessageNames#names}). The server quotes
     * what it echoes without escaping a quote inside it, so a value holding quotes pairs with the message's own:
     * {@code time zone "a" v "b" not recognized} shows {@code v} between two pairs the client named itself. So at
     * most one pair may be other than a name field of the message (which no input echo carries); otherwise, or when
     * a pair names nothing, everything from the first quote to the last (to the end, when they do not pair) is
     * redacted.
     */
    private static String quotedNames(String text, MessageNames names) {
        int first = text.indexOf('"');
        if (first < 0) {
            return text;
        }
        int open = first;
        int last = -1;
        int notFields = 0;
        boolean named = true;
        while (open >= 0) {
            int close = text.indexOf('"', open + 1);
            if (close < 0) {
                named = false;
                last = -1;
                break;
            }
            String quoted = text.substring(open + 1, close);
            named &= names.names(quoted);
            notFields += names.field(quoted) ? 0 : 1;
            last = close;
            open = text.indexOf('"', close + 1);
        }
        if (named && notFields <= 1) {
            return text;
        }
        String redacted = "\"" + REDACTED + "\"";
        return last < 0 ? text.substring(0, first) + redacted : text.substring(0, first) + redacted
                + text.substring(last + 1);
    }

    /**
     * A number outside quotes: many messages print the number they were given as it is (a code point, a bit or
     * byte index, a PID, an OID, a date field) and the bytes of invalid input as hex, so any of them may be a
     * value the statement computed. Digits inside a name ({@code t1}, {@code ee_2_key}) are kept, and so is a
     * number that is a name field of the message. A number that is a whole word of the statement is not kept:
     * which number the server prints can be chosen by the data after rows are read (set_bit's index, the line of
     * the RAISE a branch ran), so a statement that also writes {@code ARRAY[32, ..., 126]} would have every
     * character code kept, and even one kept number answers a guess per notice, of which one statement can raise
     * any number. Cost: {@code hash function 1 must return integer} for {@code ADD FUNCTION 1} in a statement over
     * sensitive data, and the line numbers of its CONTEXT, show {@code [redacted]}.
     */
    private static String unquotedNumbers(String text, MessageNames names) {
        StringBuilder out = null;
        int copied = 0;
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"') {
                quoted = !quoted;
                continue;
            }
            if (quoted || c < '0' || c > '9' || (i > 0 && partOfName(text.charAt(i - 1)))) {
                continue;
            }
            int end = i + 1;
            boolean hex = c == '0' && end < text.length() && (text.charAt(end) == 'x' || text.charAt(end) == 'X');
            end += hex ? 1 : 0;
            while (end < text.length() && (Character.isDigit(text.charAt(end))
                    || (hex && Character.digit(text.charAt(end), 16) >= 0))) {
                end++;
            }
            if (names.field(text.substring(i, end))) {
                i = end - 1;
                continue;
            }
            out = out == null ? new StringBuilder(text.length() + 16) : out;
            out.append(text, copied, i).append(REDACTED);
            copied = end;
            i = end - 1;
        }
        return out == null ? text : out.append(text, copied, text.length()).toString();
    }

    private static boolean partOfName(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }

    private static String unquotedName(String text, MessageNames names) {
        Matcher m = UNQUOTED_NAME.matcher(text);
        if (!m.find() || names.names(m.group(2))
                || (names.parserHint() && m.group(1).startsWith("operator"))) {
            return text;
        }
        return text.substring(0, m.start(2)) + REDACTED;
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
        ValueDetectors.Scanner scanner = new ValueDetectors.Scanner(bytes, 0, bytes.length, detectors);
        while (from < bytes.length) {
            ValueDetectors.Hit hit = scanner.next(from);
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
