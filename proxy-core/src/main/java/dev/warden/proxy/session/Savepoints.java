package dev.warden.proxy.session;

import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The savepoints of a session's open transaction, innermost last, followed from the SQL it sends (SAVEPOINT,
 * RELEASE, ROLLBACK TO, COMMIT, ROLLBACK), so that {@link PreparedStatements} drops exactly the cursors the server
 * drops. Names fold as the server folds identifiers; a name used twice is found innermost first, as the server
 * does. Plain Java over statement facts; event loop only.
 */
final class Savepoints {

    /** What a transaction-control statement did to the savepoints. */
    enum Kind {
        /** Not a transaction-control statement (or SAVEPOINT, which only adds one). */
        NONE,
        /** ROLLBACK TO: portals made at a level above {@code level} are gone. */
        ROLLED_BACK_TO,
        /** RELEASE: what was made above {@code level} now belongs to {@code level}. */
        RELEASED,
        /** COMMIT or ROLLBACK: the transaction ended. */
        ENDED,
        /** A savepoint Warden cannot read or does not know: the caller fails closed. */
        UNKNOWN
    }

    record Change(Kind kind, int level) {
    }

    private static final String NAME = "(\"(?:[^\"]|\"\")+\"|[\\p{L}_][\\p{L}\\p{N}_$]*)";
    private static final Pattern SAVEPOINT = Pattern.compile("(?is)\\s*savepoint\\s+" + NAME + "\\s*;?\\s*");
    private static final Pattern RELEASE = Pattern.compile("(?is)\\s*release\\s+(?:savepoint\\s+)?" + NAME
            + "\\s*;?\\s*");
    private static final Pattern ROLLBACK_TO = Pattern.compile("(?is)\\s*(?:rollback|abort)\\s+(?:work\\s+|transaction\\s+)?"
            + "to\\s+(?:savepoint\\s+)?" + NAME + "\\s*;?\\s*");

    private final List<String> names = new ArrayList<>();

    int depth() {
        return names.size();
    }

    void clear() {
        names.clear();
    }

    Change apply(StatementFacts f) {
        StatementKind kind = f.kind();
        String text = f.text();
        if (kind == StatementKind.SAVEPOINT) {
            Matcher m = SAVEPOINT.matcher(text);
            if (!m.matches()) {
                return new Change(Kind.UNKNOWN, 0);
            }
            names.add(fold(m.group(1)));
            return new Change(Kind.NONE, names.size());
        }
        if (kind == StatementKind.RELEASE || kind == StatementKind.ROLLBACK) {
            Matcher m = (kind == StatementKind.RELEASE ? RELEASE : ROLLBACK_TO).matcher(text);
            if (!m.matches()) {
                if (kind == StatementKind.RELEASE) {
                    return new Change(Kind.UNKNOWN, 0);
                }
                names.clear();
                return new Change(Kind.ENDED, 0);
            }
            int at = names.lastIndexOf(fold(m.group(1)));
            if (at < 0) {
                return new Change(Kind.UNKNOWN, 0);
            }
            if (kind == StatementKind.RELEASE) {
                names.subList(at, names.size()).clear();
                return new Change(Kind.RELEASED, at);
            }
            // ROLLBACK TO keeps the savepoint itself: what was made after it is gone.
            names.subList(at + 1, names.size()).clear();
            return new Change(Kind.ROLLED_BACK_TO, at);
        }
        if (kind == StatementKind.COMMIT) {
            names.clear();
            return new Change(Kind.ENDED, 0);
        }
        return new Change(Kind.NONE, names.size());
    }

    private static String fold(String name) {
        return name.startsWith("\"") ? name.substring(1, name.length() - 1).replace("\"\"", "\"")
                : name.toLowerCase(Locale.ROOT);
    }
}
