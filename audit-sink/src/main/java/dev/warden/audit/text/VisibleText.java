package dev.warden.audit.text;

/**
 * Untrusted text (statements, startup parameters, claims, comments) made safe to show on a terminal or in a
 * line-oriented log: every character that could move the cursor, end a line, recolour or reorder text is
 * written as a visible escape, so what a reader sees is exactly what was sent.
 *
 * <ul>
 *   <li>{@code \e} ESC, {@code \r}, {@code \n}, {@code \t}; every other C0 and C1 control, DEL, the line and
 *       paragraph separators and Unicode format characters (bidirectional overrides, zero-width joiners and
 *       spaces) as a backslash, {@code u} and four hex digits (braced when beyond the BMP);</li>
 *   <li>the backslash itself as {@code \\}, so an escape in the output always means an escape was needed.</li>
 * </ul>
 * Clipping never hides that it happened: {@link #clip} says how many characters were left out.
 */
public final class VisibleText {

    private VisibleText() {
    }

    /** {@code text} with every invisible or line-breaking character escaped; null becomes the empty string. */
    public static String escape(String text) {
        if (text == null) {
            return "";
        }
        if (isPlain(text)) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        text.codePoints().forEach(c -> append(out, c));
        return out.toString();
    }

    /**
     * {@link #escape}d, and cut to at most about {@code max} characters with a visible note of what was left
     * out. The note is part of the text, so the cut can never be mistaken for the end of the statement.
     */
    public static String clip(String text, int max) {
        String escaped = escape(text);
        if (escaped.length() <= max) {
            return escaped;
        }
        int cut = max;
        if (Character.isHighSurrogate(escaped.charAt(cut - 1))) {
            cut--;
        }
        return escaped.substring(0, cut) + " …[" + (escaped.length() - cut) + " more characters not shown]";
    }

    /**
     * A user or group name to show a person who decides by it (an approver, an auditor): {@link #escape}d, and,
     * when its letters come from more than one script, followed by a note naming the letters outside its main
     * script ({@code alice@example.com [mixed scripts: U+0430 CYRILLIC SMALL LETTER A]} for a Cyrillic {@code а}).
     * Policy names are compared exactly, so such a name matches no rule written with Latin letters; but it reads
     * like one, and whoever approves a request by the name alone must be told. A name of one script (José, 李雷)
     * is shown as it is.
     */
    public static String name(String text) {
        return escape(text) + scriptNote(text);
    }

    /**
     * The note {@link #name} adds: empty for a name of one script, else {@code " [mixed scripts: U+0430 CYRILLIC
     * SMALL LETTER A]"} (at most three letters named). ASCII, so it reads the same escaped or not.
     */
    public static String scriptNote(String text) {
        if (text == null || text.chars().allMatch(c -> c < 0x80)) {
            return "";
        }
        java.util.Map<Character.UnicodeScript, Integer> letters = new java.util.EnumMap<>(
                Character.UnicodeScript.class);
        text.codePoints().filter(Character::isLetter)
                .forEach(c -> letters.merge(Character.UnicodeScript.of(c), 1, Integer::sum));
        if (letters.size() < 2) {
            return "";
        }
        Character.UnicodeScript main = java.util.Collections.max(letters.entrySet(),
                java.util.Map.Entry.comparingByValue()).getKey();
        int[] others = text.codePoints().filter(c -> Character.isLetter(c) && Character.UnicodeScript.of(c) != main)
                .distinct().toArray();
        StringBuilder note = new StringBuilder(" [mixed scripts: ");
        for (int i = 0; i < Math.min(others.length, 3); i++) {
            String unicodeName = Character.getName(others[i]);
            note.append(i == 0 ? "" : ", ").append(String.format("U+%04X", others[i]))
                    .append(unicodeName == null ? "" : " " + unicodeName);
        }
        if (others.length > 3) {
            note.append(", and ").append(others.length - 3).append(" more");
        }
        return note.append(']').toString();
    }

    /** True when {@link #escape} would change nothing. */
    public static boolean isPlain(String text) {
        return text.codePoints().noneMatch(c -> c == '\\' || needsEscape(c));
    }

    private static boolean needsEscape(int c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029
                || Character.getType(c) == Character.FORMAT;
    }

    private static void append(StringBuilder out, int c) {
        switch (c) {
            case '\\' -> out.append("\\\\");
            case 0x1b -> out.append("\\e");
            case '\r' -> out.append("\\r");
            case '\n' -> out.append("\\n");
            case '\t' -> out.append("\\t");
            default -> {
                if (!needsEscape(c)) {
                    out.appendCodePoint(c);
                } else if (c <= 0xffff) {
                    out.append(String.format("\\u%04x", c));
                } else {
                    out.append(String.format("\\u{%x}", c));
                }
            }
        }
    }
}
