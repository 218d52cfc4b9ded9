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
    static final Pattern TRAILING_QUOTED = Pattern.compile(
            "((?:invalid input syntax|invalid input value|malformed|invalid|value too long|could not parse|"
                    + "unrecognized|incorrect|cannot cast|date/time field value out of range|"
                    + "time zone|invalid byte sequence)[^\\n]*?: )\"(.*)\"", Pattern.DOTALL);
    static final Pattern VALUE_OUT_OF_RANGE = Pattern.compile(
            "(value |Token |string |number |numeric field value |input |character |date |timestamp |time |"
                    + "interval |bit string |field value )\"(.*?)\"(?= is | must | does | out of | too | for |$)",
            Pattern.DOTALL);
    static final Pattern KEY_VALUES = Pattern.compile("(Key \\(.*?\\)=\\()(.*)(\\))",
            Pattern.DOTALL);
    static final Pattern FAILING_ROW = Pattern.compile("(Failing row contains \\()(.*)(\\))",
            Pattern.DOTALL);
    /** A row no partition takes: {@code Partition key of the failing row contains (cols) = (vals).} */
    static final Pattern PARTITION_KEY = Pattern.compile(
            "(failing row contains \\(.*?\\) = \\()(.*)(\\))", Pattern.DOTALL);
    static final Pattern PARAMETER = Pattern.compile("(\\$\\d+ = )'((?:[^']|'')*)'");
    /** JSON's CONTEXT line quotes the input up to the error: {@code JSON data, line 1: value...}. */
    private static final Pattern JSON_DATA = Pattern.compile("(JSON data, line \\d+: )([^\\n]*)");
    /**
     * Messages that end with a name looked up, unquoted: an operator name an input function could not find (the
     * parser's own message, with its hint, names argument types instead), a dotted name it could not resolve, a
     * normalization form (normalize, is_normalized). A helper's pass (a126) had {@code (email || '.x.y')::regclass}
     * print the e-mail after {@code improper relation name (too many dotted names): }, and to_regclass,
     * has_table_privilege and pg_get_serial_sequence the same.
     */
    private static final Pattern UNQUOTED_NAME = Pattern.compile("((?:operator does not exist|"
            + "improper (?:qualified|relation) name \\(too many dotted names\\)|"
            + "cross-database references are not implemented|invalid normalization form): )(.*)", Pattern.DOTALL);
    /** A message that begins with the name it could not take, unquoted: to_ascii's {@code x is not a valid encoding name}. */
    private static final Pattern UNQUOTED_FIRST = Pattern.compile("\\A(.*)( is not a valid encoding name)\\z",
            Pattern.DOTALL);
    /**
     * libxml's DETAIL: {@code line 1: msg\ninput\n^}. Its message names what it read from the input, unquoted
     * ({@code Opening and ending tag mismatch: <name> line 1 and b}, {@code Entity '<name>' not defined}), and the
     * lines after it quote the input: all of it is redacted (a helper's pass, a140 F1, read SSNs made into tag names).
     */
    private static final Pattern XML_INPUT = Pattern.compile("\\A(line \\d+: )(.*)\\z", Pattern.DOTALL);

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

    /**
     * The echoed values redacted. The patterns above say what is redacted; each is found here by a scan whose cost is
     * the text's length: the regular expressions retried every occurrence of their opening words and read to the
     * text's end each time (a masked identity's error text of 20,000 {@code Failing row contains (} took 67 s on an
     * event loop, 15,000 {@code invalid} 17 s), and {@link #KEY_VALUES} and {@link #PARAMETER} overflowed the stack
     * on a long value (the session was dropped). EchoedValuesTest compares each scan with its pattern.
     */
    static String echoed(String text) {
        String out = text;
        out = replaceSpans(out, MessageText::trailingQuoted, "\"" + REDACTED + "\"");
        out = replaceSpans(out, MessageText::valueOutOfRange, "\"" + REDACTED + "\"");
        out = replaceSpans(out, MessageText::keyValues, REDACTED);
        out = replaceSpans(out, (t, from) -> toLastParenthesis(t, from, "Failing row contains (", null), REDACTED);
        out = replaceSpans(out, (t, from) -> toLastParenthesis(t, from, "failing row contains (", ") = ("),
                REDACTED);
        out = replaceSpans(out, MessageText::parameter, "'" + REDACTED + "'");
        out = replaceGroup(out, JSON_DATA, 2, REDACTED, false);
        out = replaceGroup(out, XML_INPUT, 2, REDACTED, false);
        return out;
    }

    /** The next span to replace at or after {@code from}, as {@code {start, end}}, or null when there is none. */
    @FunctionalInterface
    interface SpanFinder {
        int[] next(String text, int from);
    }

    private static String replaceSpans(String text, SpanFinder finder, String replacement) {
        int[] span = finder.next(text, 0);
        if (span == null) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        int copied = 0;
        while (span != null) {
            out.append(text, copied, span[0]).append(replacement);
            copied = span[1];
            span = copied < text.length() ? finder.next(text, copied) : null;
        }
        return out.append(text, copied, text.length()).toString();
    }

    /** The words {@link #TRAILING_QUOTED} starts with. */
    private static final Pattern TRAILING_WORDS = Pattern.compile("invalid input syntax|invalid input value|"
            + "malformed|invalid|value too long|could not parse|unrecognized|incorrect|cannot cast|"
            + "date/time field value out of range|time zone|invalid byte sequence");

    /**
     * {@link #TRAILING_QUOTED}: after its words, the first {@code : "} on their line opens the value, which runs to
     * the text's last quote. With no such quote after the first opening, no later opening has one either.
     */
    static int[] trailingQuoted(String text, int from) {
        Matcher words = TRAILING_WORDS.matcher(text);
        int at = from;
        while (at < text.length() && words.find(at)) {
            int line = text.indexOf('\n', words.end());
            int lineEnd = line < 0 ? text.length() : line;
            int open = text.indexOf(": \"", words.end());
            if (open < 0) {
                return null; // no later occurrence has one either
            }
            if (open < lineEnd) {
                int last = text.lastIndexOf('"');
                return last >= open + 3 ? new int[] {open + 2, last + 1} : null;
            }
            // Another occurrence before the opening's line finds it past its own line too: go to that line (reading
            // to the opening from every line of "invalid" was quadratic, a helper's review found).
            at = text.lastIndexOf('\n', open) + 1;
        }
        return null;
    }

    /** The words {@link #VALUE_OUT_OF_RANGE} starts with, and the value's opening quote. */
    private static final Pattern VALUE_WORDS = Pattern.compile("(?:value |Token |string |number |numeric field value "
            + "|input |character |date |timestamp |time |interval |bit string |field value )\"");
    private static final String[] VALUE_ENDS = {" is ", " must ", " does ", " out of ", " too ", " for "};

    /**
     * {@link #VALUE_OUT_OF_RANGE}: the value runs to the first quote followed by one of its words (or ending the
     * text); with none after the first opening, no later opening has one.
     */
    static int[] valueOutOfRange(String text, int from) {
        Matcher words = VALUE_WORDS.matcher(text);
        if (from >= text.length() || !words.find(from)) {
            return null;
        }
        int open = words.end() - 1;
        for (int q = text.indexOf('"', open + 1); q >= 0; q = text.indexOf('"', q + 1)) {
            if (endsValue(text, q + 1)) {
                return new int[] {open, q + 1};
            }
        }
        return null;
    }

    /** A value's closing quote is followed by one of {@link #VALUE_ENDS}, or ends the text (as {@code $} does). */
    private static boolean endsValue(String text, int at) {
        int n = text.length();
        if (at == n || at == n - 1 && "\n\r\u0085\u2028\u2029".indexOf(text.charAt(at)) >= 0
                || at == n - 2 && text.startsWith("\r\n", at)) {
            return true;
        }
        for (String end : VALUE_ENDS) {
            if (text.startsWith(end, at)) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@link #KEY_VALUES}: after {@code Key (}, the columns up to the first {@code )=(}, then the values up to the
     * text's last parenthesis. The columns are read to that {@code )=(} whatever they hold: PostgreSQL prints an index
     * expression deparsed, nested to any depth ({@code translate(lower(email), ...)}), and reading parenthesised parts
     * one deep gave up on those, so the values were kept (a helper's pass, a140 F3). A {@code )=(} inside an
     * expression's string starts the redaction sooner, which covers the values too.
     */
    static int[] keyValues(String text, int from) {
        int k = text.indexOf("Key (", from);
        if (k < 0) {
            return null;
        }
        int equals = text.indexOf(")=(", k + 5);
        if (equals < 0) {
            return null;
        }
        int last = text.lastIndexOf(')');
        return last >= equals + 3 ? new int[] {equals + 3, last} : null;
    }

    /**
     * {@link #FAILING_ROW} and {@link #PARTITION_KEY}: after {@code opening} (and then {@code columnsEnd}, when not
     * null), the values up to the text's last parenthesis.
     */
    static int[] toLastParenthesis(String text, int from, String opening, String columnsEnd) {
        int k = text.indexOf(opening, from);
        if (k < 0) {
            return null;
        }
        int start = k + opening.length();
        if (columnsEnd != null) {
            int c = text.indexOf(columnsEnd, start);
            if (c < 0) {
                return null;
            }
            start = c + columnsEnd.length();
        }
        int last = text.lastIndexOf(')');
        return last >= start ? new int[] {start, last} : null;
    }

    private static final Pattern PARAMETER_OPENING = Pattern.compile("\\$\\d+ = '");

    /**
     * {@link #PARAMETER}: the value runs to the first quote not doubled. One with no such quote (cut, or a
     * log_parameter_max_length_on_error of -1 and a long value) is redacted to the text's end: the pattern took the
     * last doubled quote for its end, and showed what followed.
     */
    static int[] parameter(String text, int from) {
        Matcher opening = PARAMETER_OPENING.matcher(text);
        if (from >= text.length() || !opening.find(from)) {
            return null;
        }
        int n = text.length();
        int i = opening.end();
        while (i < n) {
            if (text.charAt(i) != '\'') {
                i++;
            } else if (i + 1 < n && text.charAt(i + 1) == '\'') {
                i += 2;
            } else {
                return new int[] {opening.end() - 1, i + 1};
            }
        }
        return new int[] {opening.end() - 1, n};
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
        Matcher first = UNQUOTED_FIRST.matcher(text);
        if (first.find() && !names.names(first.group(1))) {
            return REDACTED + first.group(2);
        }
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
