package dev.warden.sql;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import net.sf.jsqlparser.statement.UnsupportedStatement;

/**
 * How much of a corpus of PostgreSQL statements Warden understands: per statement kind, how many JSqlParser
 * parsed, how many the lexer knows completely, how many the read-only proof accepted, and how many stay
 * {@code unparsed}; then what remains unparsed, grouped with examples. A statement is <em>known</em> when it is
 * not {@code unparsed}: its kind, the tables it writes and whether it writes are then Warden's reading, not a
 * guess.
 *
 * <p>Corpus files are psql scripts: meta-command lines ({@code \set}, {@code \d}...) are dropped, a trailing
 * {@code \g}/{@code \gset}/{@code \gexec} ends its statement, and the data lines after {@code COPY ... FROM
 * stdin} up to {@code \.} are skipped. psql interpolates {@code :'name'} as a string literal and
 * {@code :"name"} as a quoted identifier before sending, so those become {@code 'psql variable'} and
 * {@code "psql variable"}; a bare {@code :name} (any text, even a whole query) is left as written.
 *
 * <p>Run over a directory: {@code mvn -o -q -pl sql verify -Dtest=CorpusReportTest -Dwarden.corpus=DIR} (see the
 * README's test section), or {@code main(DIR)} with the test classpath.
 */
final class CorpusReport {

    private static final Pattern TRAILING_META =
            Pattern.compile("^(.*?)\\s*\\\\(g|gx|gset|gexec|gdesc|crosstabview|watch)\\b.*$");
    private static final Pattern SEND_META =
            Pattern.compile("^\\\\(g|gx|gset|gexec|gdesc|crosstabview|watch)\\b.*$");
    private static final Pattern COPY_FROM_STDIN =
            Pattern.compile("(?im)^\\s*\\\\?copy\\b[^;]*\\bfrom\\s+(stdin|pstdin)\\b");
    private static final int EXAMPLES = 3;

    /** Per kind. */
    static final class Row {
        int total;
        int parser;
        int lexer;
        int proof;
        int unparsed;
    }

    private final Analyzer analyzer = new Analyzer(0);
    private final GuardedParser raw = new GuardedParser(Analyzer.DEFAULT_PARSE_TIMEOUT.toNanos());
    final Map<StatementKind, Row> rows = new EnumMap<>(StatementKind.class);
    final Row all = new Row();
    int files;
    /** Unparsed statements by kind and leading words, with a few examples. */
    final Map<String, List<String>> unparsedGroups = new TreeMap<>();
    final Map<String, Integer> unparsedCounts = new TreeMap<>();
    /** Why unparsed queries were not proven reads: functions the built-in list does not know, and writes. */
    final Map<String, Integer> unknownFunctions = new TreeMap<>();
    int queriesThatMayWrite;

    /** Analyses every {@code .sql} file under {@code root}. */
    static CorpusReport of(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            return of(walk.filter(p -> p.toString().endsWith(".sql")).sorted().collect(Collectors.toList()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static CorpusReport of(List<Path> files) {
        CorpusReport report = new CorpusReport();
        for (Path file : files) {
            report.addFile(file);
        }
        return report;
    }

    void addFile(Path file) {
        files++;
        String script;
        try {
            script = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // One statement per text, as psql sends a script: the analyzer's parse budget is per text, and a whole
        // file as one text would spend it and leave the rest of the file unparsed.
        String sql = withoutPsqlCommands(script);
        for (SqlSplitter.Segment segment : SqlSplitter.split(sql)) {
            if (!segment.tokens().isEmpty() || segment.unterminated()) {
                addText(segment.text());
            }
        }
    }

    /** Adds the statements of one text, as a client would send it. */
    void addText(String sql) {
        for (StatementFacts f : analyzer.analyze(sql).statements()) {
            add(f);
        }
    }

    private void add(StatementFacts f) {
        if (f.kind() == StatementKind.EMPTY) {
            return;
        }
        List<Lexer.Token> tokens = Lexer.tokenize(f.text()).tokens();
        boolean viaParser = LexicalAnalysis.usesParser(tokens);
        boolean jsql = viaParser && raw.parse(Shape.parserText(tokens)) instanceof GuardedParser.Parsed p
                && !(p.statement() instanceof UnsupportedStatement);
        Row row = rows.computeIfAbsent(f.kind(), k -> new Row());
        for (Row r : new Row[] {row, all}) {
            r.total++;
            if (f.unparsed()) {
                r.unparsed++;
            } else if (jsql) {
                r.parser++;
            } else if (viaParser && f.kind() == StatementKind.SELECT) {
                r.proof++;
            } else {
                r.lexer++;
            }
        }
        if (f.unparsed()) {
            String group = group(f, tokens);
            unparsedCounts.merge(group, 1, Integer::sum);
            List<String> examples = unparsedGroups.computeIfAbsent(group, g -> new ArrayList<>());
            if (examples.size() < EXAMPLES) {
                examples.add(example(f.text()));
            }
            if (f.kind() == StatementKind.SELECT) {
                ReadOnlyProof.Examination e = ReadOnlyProof.examine(tokens);
                if (e.isQuery && !e.noWrite) {
                    queriesThatMayWrite++;
                }
                for (String fn : e.unknownFunctions) {
                    unknownFunctions.merge(fn, 1, Integer::sum);
                }
            }
        }
    }

    /** The kind and the leading words that say what a statement is ({@code CREATE TABLE}, {@code OTHER foo}). */
    private static String group(StatementFacts f, List<Lexer.Token> tokens) {
        String kind = f.kind().name();
        if (!f.objectType().isEmpty()) {
            return kind + " " + f.objectType();
        }
        if (f.kind() == StatementKind.OTHER && !tokens.isEmpty()) {
            return kind + " (" + tokens.get(0).value().toLowerCase(Locale.ROOT) + ")";
        }
        return kind;
    }

    private static String example(String text) {
        String one = text.replaceAll("\\s+", " ").strip();
        return one.length() > 140 ? one.substring(0, 137) + "..." : one;
    }

    double percent(int part) {
        return all.total == 0 ? 0 : 100.0 * part / all.total;
    }

    int known() {
        return all.total - all.unparsed;
    }

    String format(String title) {
        StringBuilder out = new StringBuilder();
        out.append(String.format("%s: %d statements in %d files%n", title, all.total, files));
        out.append("parsed: JSqlParser's tree; lexer: the lexer knows the statement's whole grammar; proof: a query "
                + "JSqlParser failed on, proven a read (ReadOnlyProof); unparsed: Warden's reading may miss what "
                + "it does\n");
        out.append(String.format("%-24s %7s %7s %7s %7s %9s%n", "kind", "total", "parsed", "lexer", "proof",
                "unparsed"));
        rows.forEach((kind, r) -> out.append(line(kind.name(), r)));
        out.append(line("ALL", all));
        out.append(String.format("known (kind, tables written and read/write status): %d of %d = %.2f %%; "
                        + "unparsed %d = %.2f %%%n", known(), all.total, percent(known()), all.unparsed,
                percent(all.unparsed)));
        out.append(String.format("targets (issue 11): known >= 99.5 %% %s, unparsed <= 0.5 %% %s%n",
                percent(known()) >= 99.5 ? "met" : "NOT met", percent(all.unparsed) <= 0.5 ? "met" : "NOT met"));
        if (!unparsedCounts.isEmpty()) {
            out.append("\nwhat remains unparsed, by kind (count, examples):\n");
            unparsedCounts.entrySet().stream()
                    .sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
                            .thenComparing(Map.Entry.comparingByKey()))
                    .forEach(e -> {
                        out.append(String.format("  %-40s %6d%n", e.getKey(), e.getValue()));
                        for (String example : unparsedGroups.get(e.getKey())) {
                            out.append("      ").append(example).append('\n');
                        }
                    });
        }
        if (!unknownFunctions.isEmpty() || queriesThatMayWrite > 0) {
            out.append(String.format("%nunparsed queries: %d may write (DML word or INTO); functions the built-in "
                    + "list does not know (top 25, statements calling each):%n", queriesThatMayWrite));
            Map<String, Integer> top = new LinkedHashMap<>();
            unknownFunctions.entrySet().stream()
                    .sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
                            .thenComparing(Map.Entry.comparingByKey()))
                    .limit(25).forEach(e -> top.put(e.getKey(), e.getValue()));
            out.append("  ").append(top).append('\n');
        }
        return out.toString();
    }

    private static String line(String kind, Row r) {
        return String.format("%-24s %7d %7d %7d %7d %9d%n", kind, r.total, r.parser, r.lexer, r.proof, r.unparsed);
    }

    private static final java.util.regex.Pattern PSQL_LITERAL =
            java.util.regex.Pattern.compile("(?<!:):'[A-Za-z_][A-Za-z0-9_]*'");
    private static final java.util.regex.Pattern PSQL_IDENTIFIER =
            java.util.regex.Pattern.compile("(?<!:):\"[A-Za-z_][A-Za-z0-9_]*\"");

    /** A psql script as the statements psql would send (see the class comment). */
    static String withoutPsqlCommands(String script) {
        StringBuilder out = new StringBuilder(script.length());
        boolean copyData = false;
        StringBuilder statement = new StringBuilder();
        for (String line : script.split("\n", -1)) {
            if (copyData) {
                if (line.strip().equals("\\.")) {
                    copyData = false;
                }
                continue;
            }
            if (line.startsWith("\\")) {
                if (COPY_FROM_STDIN.matcher(line).find()) {
                    copyData = true;
                } else if (SEND_META.matcher(line).matches()) {
                    out.append(";\n"); // \g on its own line sends what came before
                    statement.setLength(0);
                }
                continue;
            }
            Matcher meta = TRAILING_META.matcher(line);
            if (meta.matches()) {
                line = meta.group(1) + ";";
            }
            line = PSQL_LITERAL.matcher(line).replaceAll("'psql variable'");
            line = PSQL_IDENTIFIER.matcher(line).replaceAll("\"psql variable\"");
            out.append(line).append('\n');
            statement.append(line).append('\n');
            if (line.stripTrailing().endsWith(";")) {
                if (COPY_FROM_STDIN.matcher(statement).find()) {
                    copyData = true;
                }
                statement.setLength(0);
            }
        }
        return out.toString();
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: CorpusReport DIRECTORY   (every .sql file under it, as psql scripts)");
            System.exit(2);
        }
        System.out.print(of(Path.of(args[0])).format("corpus " + args[0]));
    }
}
