package dev.warden.masking;

import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * What the server's text about one statement may name in clear: the names its error or notice carries as fields
 * (table, column, constraint, type, schema: the server's own, from the catalog) and the words of the statement's
 * own text (what the client wrote it knows). The server quotes many more inputs than the echo patterns know
 * ({@code relation "v" does not exist} for a {@code ::regclass} cast, {@code time zone "v" not recognized},
 * {@code unrecognized configuration parameter "v"} ...), and a value computed from a table's data can be any of
 * them; a quoted text that is neither a field nor a word of the statement could be such a value.
 *
 * <p>A word of the statement counts only whole (bounded by characters no identifier holds), so a text padded
 * with candidates does not name every piece of a value; it does let a client that guesses a value see it named
 * back, which a WHERE clause on the value tells as well. And only while the statement's texts hold at most
 * {@link #MAX_WORDS} distinct words: a text padded with every candidate of a short piece (all 10,000 four-letter
 * words over a..j, after a comment) named that piece whatever it was, four SSN digits a statement (a helper's pass,
 * a140 F7). Past that, only the name fields are named; so a guess tells at most about eight bits a statement.
 *
 * @param fields    the name fields of the error or notice
 * @param texts     the statement's text and those of the statements it runs that Warden read
 * @param parserHint whether the message carries a hint: the parser's own {@code operator does not exist} has
 *                  one, naming the argument types it looked up; an input function's, which names its input, none
 */
public record MessageNames(Collection<String> fields, List<String> texts, boolean parserHint) {

    /** Nothing is named: every quoted text of a statement over sensitive data is redacted. */
    public static final MessageNames NONE = new MessageNames(List.of(), List.of(), false);

    public MessageNames {
        fields = List.copyOf(fields);
        texts = List.copyOf(texts);
    }

    /** Whether {@code quoted} is a name the server's text may show: a field, or a whole word of the statement. */
    public boolean names(String quoted) {
        if (field(quoted) || quoted.isEmpty() || quoted.equals(MessageText.REDACTED)) {
            return true;
        }
        if (manyWords(texts)) {
            return false;
        }
        String wanted = quoted.toLowerCase(Locale.ROOT);
        for (String text : texts) {
            if (text != null && text.length() >= quoted.length() && wordOf(text.toLowerCase(Locale.ROOT), wanted)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code quoted} is one of the message's name fields, which the server set from the catalog. */
    public boolean field(String quoted) {
        for (String f : fields) {
            if (!quoted.isEmpty() && f.equalsIgnoreCase(quoted)) {
                return true;
            }
        }
        return false;
    }

    /** How many distinct words the statement's texts may hold for their words to be named back. */
    public static final int MAX_WORDS = 256;

    /** Whether {@code texts} hold more than {@link #MAX_WORDS} distinct words (case folded). */
    private static boolean manyWords(List<String> texts) {
        java.util.Set<String> words = new java.util.HashSet<>();
        for (String text : texts) {
            int n = text == null ? 0 : text.length();
            for (int i = 0; i < n; ) {
                if (!identifierChar(text.charAt(i))) {
                    i++;
                    continue;
                }
                int start = i;
                while (i < n && identifierChar(text.charAt(i))) {
                    i++;
                }
                if (words.add(text.substring(start, i).toLowerCase(Locale.ROOT)) && words.size() > MAX_WORDS) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean wordOf(String text, String wanted) {
        for (int at = text.indexOf(wanted); at >= 0; at = text.indexOf(wanted, at + 1)) {
            int end = at + wanted.length();
            if ((at == 0 || !identifierChar(text.charAt(at - 1)) || !identifierChar(wanted.charAt(0)))
                    && (end == text.length() || !identifierChar(text.charAt(end))
                    || !identifierChar(wanted.charAt(wanted.length() - 1)))) {
                return true;
            }
        }
        return false;
    }

    private static boolean identifierChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }
}
