package dev.warden.sql;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Statement texts for {@link LexerDifferentialTest}, each one a function of (seed, index) so that any case can
 * be generated again alone. Two sources: statements of a SQL corpus (checked with Parse, since most would
 * not execute here) and templates over the scratch tables of the test database (executed inside a rolled-back
 * transaction). Both are mutated where PostgreSQL's scanner has rules a careless lexer gets wrong: comment
 * styles and their terminators, every whitespace character, nested comments, statement terminators, dollar
 * tags, {@code E''}/{@code U&''}/{@code B''}/{@code X''} strings and continuations, quoted and Unicode
 * identifiers, {@code BEGIN ATOMIC} bodies, both settings of {@code standard_conforming_strings}, and SJIS,
 * BIG5 and GBK characters whose second byte is an ASCII character such as {@code \}.
 */
final class DifferentialGenerator {

    /**
     * One generated text.
     *
     * @param origin where it came from (template names or corpus file), for the report
     * @param executable whether it runs on the scratch database (tag oracle) or is only parsed (Parse oracle)
     * @param standardConformingStrings the session setting before the first message
     * @param encoding the session's {@code client_encoding} before the first message
     * @param messages the Query messages, in order; each later one is encoded in the client encoding the server
     *     reports after the previous one
     * @param corruptBytes whether to damage the last message's bytes (a lone lead byte), to check that Warden
     *     refuses to decode exactly what the server refuses to convert
     */
    record Case(String origin, boolean executable, boolean standardConformingStrings, String encoding,
            List<String> messages, boolean corruptBytes) {}

    static final List<String> ENCODINGS = List.of("UTF8", "SJIS", "BIG5", "GBK");

    /** Whitespace of scan.l: space, tab, newline, carriage return, form feed, vertical tab. */
    private static final String[] WHITESPACE = {" ", "\t", "\n", "\r", "\f", "\u000B"};

    /** Per client encoding: characters whose encoding ends in an ASCII byte (for SJIS, BIG5, GBK). */
    private static final Map<String, List<String>> TRICKY_CHARACTERS = new TreeMap<>();

    static {
        TRICKY_CHARACTERS.put("UTF8", List.of("é", "表", "ß", "\uD834\uDD1E", "ü"));
        TRICKY_CHARACTERS.put("SJIS", asciiTrailing("windows-31j"));
        TRICKY_CHARACTERS.put("BIG5", asciiTrailing("Big5"));
        TRICKY_CHARACTERS.put("GBK", asciiTrailing("GBK"));
    }

    static Charset charset(String encoding) {
        return Charset.forName(switch (encoding) {
            case "SJIS" -> "windows-31j";
            case "BIG5" -> "Big5";
            case "GBK" -> "GBK";
            default -> "UTF-8";
        });
    }

    /**
     * CJK characters that encode to two bytes, the second of which is {@code \} (most of them) or another
     * ASCII character ({@code | ` @ [ ] ^ _ { }} or a letter), and that decode back to themselves.
     */
    private static List<String> asciiTrailing(String charsetName) {
        Charset cs = Charset.forName(charsetName);
        List<String> backslash = new ArrayList<>();
        List<String> other = new ArrayList<>();
        for (char c = '\u4E00'; c < '\u9FA5'; c++) {
            byte[] b = String.valueOf(c).getBytes(cs);
            if (b.length != 2 || (b[1] & 0xff) >= 0x80 || !roundTrips(cs, b, c)) {
                continue;
            }
            if (charsetName.equals("windows-31j") && ((b[0] & 0xff) > 0xEA)) {
                continue; // NEC/IBM extensions: mapped differently by PostgreSQL's SJIS tables
            }
            if (b[1] == '\\' && backslash.size() < 12) {
                backslash.add(String.valueOf(c));
            } else if ("|`@[]^_{}AaZz".indexOf(b[1]) >= 0 && other.size() < 12
                    && other.stream().noneMatch(o -> o.getBytes(cs)[1] == b[1])) {
                other.add(String.valueOf(c));
            }
        }
        List<String> all = new ArrayList<>(backslash);
        all.addAll(other);
        if (backslash.isEmpty()) {
            throw new IllegalStateException(charsetName + " has no character ending in a backslash byte");
        }
        return List.copyOf(all);
    }

    private static boolean roundTrips(Charset cs, byte[] bytes, char c) {
        try {
            CharBuffer back = cs.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
            return back.length() == 1 && back.charAt(0) == c;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /** Executable statements over the scratch schema (the test database's public schema). */
    private static final String[] TEMPLATES = {
        "SELECT {s}",
        "SELECT {lit} AS {label}",
        "SELECT {s} AS case",
        "SELECT {s} AS x , {n} AS y , {lit}",
        "SELECT * FROM {t} WHERE {col} = {s}",
        "SELECT {col} FROM {t} WHERE {col} <> {s} ORDER BY 1",
        "SELECT count(*) FROM {t} WHERE {col} LIKE {s}",
        "SELECT {s} || {s} AS {label}",
        "VALUES ( {s} , {n} )",
        "TABLE {t}",
        "WITH w AS ( SELECT {s} AS x ) SELECT x FROM w",
        "WITH d AS ( DELETE FROM {u} RETURNING * ) SELECT count(*) FROM d",
        "SELECT {s} INTO TEMP tmp_into",
        "INSERT INTO {u} VALUES ( {n} , {s} )",
        "INSERT INTO {u} ( id , note ) SELECT id , {col} FROM {t}",
        "UPDATE {t} SET {col} = {s} WHERE id = 1",
        "UPDATE {t} SET b = b + 1",
        "DELETE FROM {t} WHERE {col} = {s}",
        "DELETE FROM {u}",
        "MERGE INTO {u} AS m USING {t} AS s ON m.id = s.id WHEN MATCHED THEN DELETE"
                + " WHEN NOT MATCHED THEN INSERT VALUES ( s.id , {s} )",
        "TRUNCATE {u}",
        "DROP TABLE {u}",
        "DROP TABLE IF EXISTS nosuch",
        "CREATE TABLE scratch_new ( x text DEFAULT {s} )",
        "CREATE TEMP TABLE tmp_ctas AS SELECT {s} AS x",
        "CREATE VIEW scratch_view AS SELECT {s} AS x",
        "ALTER TABLE {u} ADD COLUMN extra text DEFAULT {s}",
        "COMMENT ON TABLE {u} IS {c}",
        "CREATE INDEX ON {t} ( {col} )",
        "CREATE FUNCTION scratch_f ( ) RETURNS text LANGUAGE sql AS {fbody}",
        "CREATE FUNCTION scratch_a ( ) RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT {s} ; END",
        "CREATE FUNCTION scratch_b ( ) RETURNS text LANGUAGE sql BEGIN ATOMIC"
                + " SELECT CASE WHEN true THEN {s} END AS case ; END",
        "CREATE FUNCTION scratch_c ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS case ; SELECT 2 ; END",
        "CREATE OR REPLACE PROCEDURE scratch_p ( ) LANGUAGE sql BEGIN ATOMIC INSERT INTO u VALUES ( 1 , {s} ) ;"
                + " DELETE FROM u WHERE note = {s} ; END",
        "CREATE FUNCTION scratch_d ( x int ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE x WHEN 1 THEN 2"
                + " ELSE 3 END ; END",
        "CREATE FUNCTION scratch_e ( ) RETURNS text LANGUAGE sql RETURN {s}",
        "CREATE FUNCTION scratch_g ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC END",
        "CREATE FUNCTION scratch_h ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS end ; END",
        "CREATE FUNCTION scratch_i ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT s.case FROM ( SELECT 1 AS case )"
                + " s ; END",
        "CREATE FUNCTION scratch_j ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT s.end FROM ( SELECT 1 AS \"end\" )"
                + " s ; END",
        "CREATE FUNCTION scratch_k ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 ELSE"
                + " CASE 1 WHEN 1 THEN 2 END END ; SELECT \"case\" FROM ( SELECT 1 AS \"case\" ) s ; END",
        "CREATE FUNCTION scratch_m ( ) RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT {s} AS \"end\" ; END",
        "CREATE FUNCTION scratch_o ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 case ; END",
        "CREATE FUNCTION scratch_v ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 end ; SELECT 2 ; END",
        "DO {dobody}",
        "DO LANGUAGE plpgsql {dobody}",
        "CALL scratch_proc ( )",
        "SET standard_conforming_strings = off",
        "SET standard_conforming_strings TO on",
        "SET LOCAL standard_conforming_strings = off",
        "RESET standard_conforming_strings",
        "SELECT set_config ( 'standard_conforming_strings' , 'off' , false )",
        "SHOW standard_conforming_strings",
        "SET search_path = public , pg_catalog",
        "SET ROLE NONE",
        "RESET ROLE",
        "SET SESSION AUTHORIZATION DEFAULT",
        "PREPARE scratch_q AS SELECT {s} ; EXECUTE scratch_q ; DEALLOCATE scratch_q",
        "DECLARE scratch_cur CURSOR FOR SELECT {s} ; FETCH 1 FROM scratch_cur ; MOVE 1 IN scratch_cur ;"
                + " CLOSE scratch_cur",
        "SAVEPOINT sp ; SELECT {s} ; ROLLBACK TO SAVEPOINT sp ; RELEASE SAVEPOINT sp",
        "LISTEN scratch_ch ; NOTIFY scratch_ch , {c} ; UNLISTEN *",
        "LOCK TABLE {t} IN SHARE MODE",
        "EXPLAIN SELECT {s}",
        "COPY ( SELECT {s} ) TO STDOUT",
        "COPY {u} FROM STDIN",
        "ANALYZE {t}",
        "REFRESH MATERIALIZED VIEW scratch_mv",
        "GRANT SELECT ON {t} TO PUBLIC ; REVOKE SELECT ON {t} FROM PUBLIC",
        "CREATE RULE scratch_r AS ON INSERT TO {u} DO ALSO DELETE FROM t WHERE a = {s}",
        "DISCARD PLANS",
        "REINDEX TABLE {t}",
        "DROP OWNED BY scratch_owner",
        "REASSIGN OWNED BY scratch_owner TO CURRENT_USER",
        "SET CONSTRAINTS ALL DEFERRED",
        "SELECT 1 ; SELECT 2",
        "( SELECT {s} )",
        "( ( SELECT 1 ) UNION ( SELECT 2 ) ) ORDER BY 1",
        "VALUES ( 1 ) , ( 2 ) ORDER BY 1",
        "SELECT * FROM {t} FOR UPDATE",
        "WITH RECURSIVE r ( n ) AS ( SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3 ) SELECT n FROM r",
        "WITH i AS ( INSERT INTO {u} VALUES ( 9 , {s} ) RETURNING id ) INSERT INTO {u} SELECT id , 'x' FROM i",
        "WITH d AS ( DELETE FROM {u} RETURNING id ) UPDATE {t} SET b = 0 WHERE id IN ( SELECT id FROM d )",
        "INSERT INTO {t} VALUES ( 1 , {s} , 1 ) ON CONFLICT ( id ) DO UPDATE SET a = excluded.a",
        "INSERT INTO {u} DEFAULT VALUES RETURNING *",
        "UPDATE {t} SET a = {s} FROM {u} AS x WHERE x.id = 1 RETURNING a",
        "DELETE FROM {u} USING {t} AS x WHERE x.id = 1",
        "MERGE INTO {u} m USING ( SELECT 1 AS id ) s ON true WHEN MATCHED THEN DELETE",
        "EXPLAIN ANALYZE DELETE FROM {u}",
        "EXPLAIN ( ANALYZE , FORMAT JSON ) UPDATE {t} SET b = 1",
        "PREPARE scratch_w ( int ) AS DELETE FROM {u} WHERE id = $1 ; EXECUTE scratch_w ( 1 ) ;"
                + " CREATE TEMP TABLE tmp_exec AS EXECUTE scratch_w ( 2 )",
        "DEALLOCATE PREPARE ALL",
        "SHOW ALL",
        "SET TIME ZONE 'UTC'",
        "SET LOCAL ROLE NONE",
        "RESET SESSION AUTHORIZATION",
        "RESET ALL",
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "CREATE SCHEMA scratch_s CREATE TABLE x ( a int ) CREATE VIEW y AS SELECT {s} AS b",
        "CREATE RULE scratch_q AS ON UPDATE TO {u} DO INSTEAD ( DELETE FROM t WHERE a = {s} ; INSERT INTO u VALUES"
                + " ( 1 , {s} ) )",
        "CREATE RULE scratch_n AS ON DELETE TO {u} DO ALSO NOTHING",
        "CREATE FUNCTION scratch_pl ( ) RETURNS int LANGUAGE plpgsql AS {plbody}",
        "ALTER FUNCTION scratch_fn ( ) STABLE",
        "COMMENT ON FUNCTION scratch_fn ( ) IS {c}",
        "GRANT EXECUTE ON FUNCTION scratch_fn ( ) TO PUBLIC",
        "DROP FUNCTION IF EXISTS scratch_nosuch ( )",
        "CLUSTER {t} USING t_pkey",
        "REINDEX INDEX t_pkey",
        "ANALYZE VERBOSE {t}",
        "TRUNCATE {t} , {u} CASCADE",
        "ALTER TABLE {u} RENAME TO u2",
        "LOAD 'plpgsql'",
        "SECURITY LABEL ON TABLE {t} IS {c}",
        "VACUUM {t}",
        "CHECKPOINT",
        "BEGIN",
        "START TRANSACTION",
        "COMMIT",
        "END",
        "ABORT",
        "SELECT 1 AS begin , 2 AS atomic , 3 AS commit",
        "SELECT {s} AS \"BEGIN ATOMIC\"",
        "SELECT {s} --{comment}\r; DROP TABLE {u}",
        "SELECT {s} --{comment}\rDELETE FROM {u}",
    };

    /** Fixed attack shapes, run under both settings and in every encoding; {x} is a tricky character. */
    private static final String[] ATTACKS = {
        "SELECT 1 --x\rDROP TABLE u",
        "SELECT 1 --x\r; DROP TABLE u",
        "SELECT 1 --x\r\n; DROP TABLE u",
        "SELECT 'a\\'; DROP TABLE u; --'",
        "SELECT E'a\\'; DROP TABLE u; --'",
        "SELECT E'\\\\'; DROP TABLE u; --'",
        "SELECT 'a\\\\'; DROP TABLE u; --'",
        "SELECT $$a$$; DROP TABLE u; --$$",
        "SELECT $a$ $b$ $a$; DROP TABLE u; --$b$",
        "SELECT 1 /* /* */ ; DROP TABLE u; -- */",
        "SELECT 1 /* /* */ */ ; DROP TABLE u",
        "SELECT B'1''; DROP TABLE u; --'",
        "SELECT X'1F'\n'\\'; DROP TABLE u; --'",
        "SELECT B'1'\n'0'; DROP TABLE u",
        "SELECT 'a'\n'\\'; DROP TABLE u; --'",
        "SELECT E'a'\n'\\''; DROP TABLE u; --'",
        "SELECT U&'\\0061'; DROP TABLE u",
        "SELECT U&'!0061' UESCAPE '!'; DROP TABLE u; --'",
        "SELECT U&'\\'; DROP TABLE u; --'",
        "SELECT U&\"\\0061\" FROM (SELECT 1 AS a) s; DROP TABLE u",
        "SELECT \"a\"\"; DROP TABLE u; --\"",
        "SELECT E'{x}'; DROP TABLE u; --'",
        "SELECT '{x}'; DROP TABLE u; --'",
        "SELECT E'{x}\\'; DROP TABLE u; --'",
        "SELECT E'{x}''; DROP TABLE u; --'",
        "SELECT \"{x}\"; DROP TABLE u; --\"",
        "SELECT 1 -- {x}\n; DROP TABLE u",
        "SELECT $${x}$$; DROP TABLE u",
        "SELECT 1\u000B; DROP TABLE u",
        "SELECT 1\f;DROP TABLE u",
        "SELECT\u000B1;\u000BDROP TABLE u",
        "CREATE FUNCTION scratch_z ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS case; END; DROP TABLE u",
        "CREATE FUNCTION scratch_z ( ) RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 'a'"
                + " END AS case; SELECT 'b' AS \"end\"; END; DELETE FROM u",
        "CREATE PROCEDURE scratch_z ( ) LANGUAGE sql BEGIN ATOMIC DELETE FROM t; END; DROP TABLE u",
        "CREATE FUNCTION scratch_z ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS end; SELECT 2; END;"
                + " DROP TABLE u",
        "CREATE FUNCTION scratch_z ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT s.end FROM (SELECT 1 AS \"end\")"
                + " s; END; DROP TABLE u",
        "CREATE FUNCTION scratch_z ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 end; END; DROP TABLE u",
        "CREATE FUNCTION scratch_z ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 case; END; DROP TABLE u",
        "CREATE FUNCTION scratch_z ( ) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 1 AS case;"
                + " DROP TABLE u",
        "SELECT 1 AS a$$b$$; DROP TABLE u",
        "SELECT $1$; DROP TABLE u; --$",
        "SELECT 'a' -- c\r'b'; DROP TABLE u",
        "SELECT 'a'\r'b\\'; DROP TABLE u; --'",
    };

    /** Block comments whose stars and slashes touch: scan.l's xcstart/xcstop take the longest match. */
    private static final String[] ODD_BLOCK_COMMENTS = {
        "/**/", "/***/", "/*/ */", "/* **/", "/*/*/ */*/", "/*-*/", "/*--*/", "/*//**/*/", "/* * / */", "/*'*/",
        "/*$$*/", "/*\\*/",
    };

    private static final String[] SET_FIRST = {
        "SET standard_conforming_strings = off",
        "SET standard_conforming_strings = on",
        "SELECT set_config('standard_conforming_strings', 'off', false)",
        "SET client_encoding = 'SJIS'",
        "SET client_encoding TO 'BIG5'",
        "SET client_encoding = GBK",
        "SET NAMES 'SJIS'",
        "RESET client_encoding",
    };

    private final long seed;
    private final List<CorpusStatement> corpus;

    /** A corpus statement and the file it came from. */
    record CorpusStatement(String file, String text) {}

    DifferentialGenerator(long seed, List<CorpusStatement> corpus) {
        this.seed = seed;
        this.corpus = corpus;
    }

    /** Case {@code index} of this seed: the same for the same seed, index and corpus. */
    Case generate(long index) {
        SplittableRandom rng = new SplittableRandom(seed ^ (index * 0x9E3779B97F4A7C15L));
        Run run = new Run(rng);
        int pick = rng.nextInt(100);
        if (!corpus.isEmpty() && pick < 40) {
            return run.fromCorpus();
        }
        if (pick < 48) {
            return run.attack();
        }
        return run.fromTemplates();
    }

    /** Everything one case's choices need. */
    private final class Run {
        final SplittableRandom rng;
        boolean scs;
        String encoding;

        Run(SplittableRandom rng) {
            this.rng = rng;
        }

        void chooseSettings() {
            scs = rng.nextInt(3) != 0;
            int e = rng.nextInt(10);
            encoding = e < 6 ? "UTF8" : ENCODINGS.get(1 + rng.nextInt(3));
        }

        boolean chance(int percent) {
            return rng.nextInt(100) < percent;
        }

        <T> T one(T[] options) {
            return options[rng.nextInt(options.length)];
        }

        <T> T one(List<T> options) {
            return options.get(rng.nextInt(options.size()));
        }

        Case fromCorpus() {
            chooseSettings();
            int at = rng.nextInt(corpus.size());
            int statements = 1 + (chance(30) ? rng.nextInt(3) : 0);
            StringBuilder text = new StringBuilder();
            String file = corpus.get(at).file();
            for (int k = 0; k < statements && at + k < corpus.size(); k++) {
                CorpusStatement st = corpus.get(at + k);
                if (!st.file().equals(file)) {
                    break;
                }
                if (k > 0) {
                    text.append(separator());
                }
                text.append(mutateGaps(st.text(), chance(70) ? 1 + rng.nextInt(4) : 0));
            }
            text.append(terminator());
            return new Case("corpus:" + file, false, scs, encoding, List.of(text.toString()), corruption());
        }

        Case attack() {
            chooseSettings();
            String text = one(ATTACKS).replace("{x}", one(TRICKY_CHARACTERS.get(encoding)));
            if (chance(50)) {
                text = mutateGaps(text, 1 + rng.nextInt(3));
            }
            List<String> messages = new ArrayList<>();
            if (chance(40)) {
                String first = one(SET_FIRST);
                messages.add(first);
                String after = after(first);
                if (after != null) {
                    text = one(ATTACKS).replace("{x}", one(TRICKY_CHARACTERS.get(after)));
                }
            }
            messages.add(text);
            return new Case("attack", true, scs, encoding, messages, corruption());
        }

        /** The encoding the session is in after {@code set}, when the statement changes it. */
        private String after(String set) {
            if (set.contains("SJIS")) {
                return "SJIS";
            } else if (set.contains("BIG5")) {
                return "BIG5";
            } else if (set.contains("GBK")) {
                return "GBK";
            } else if (set.startsWith("RESET client_encoding")) {
                return "UTF8";
            }
            return null;
        }

        Case fromTemplates() {
            chooseSettings();
            boolean initialScs = scs;
            String initialEncoding = encoding;
            List<String> messages = new ArrayList<>();
            List<String> names = new ArrayList<>();
            if (chance(15)) {
                String first = one(SET_FIRST);
                messages.add(first);
                String after = after(first);
                if (after != null) {
                    encoding = after; // the characters of the next message are chosen for it
                }
                if (first.contains("standard_conforming_strings = off") || first.contains("'off'")) {
                    scs = false;
                }
            }
            int statements = 1 + rng.nextInt(chance(30) ? 4 : 2);
            StringBuilder text = new StringBuilder();
            if (chance(10)) {
                text.append(gap(false));
            }
            for (int k = 0; k < statements; k++) {
                String template = one(TEMPLATES);
                names.add(template.split(" ")[0]);
                if (k > 0) {
                    text.append(separator());
                }
                text.append(expand(template));
            }
            text.append(terminator());
            messages.add(text.toString());
            return new Case("templates:" + String.join(",", names), true, initialScs, initialEncoding, messages,
                    corruption());
        }

        boolean corruption() {
            return chance(3);
        }

        /** A template with its slots filled and each of its spaces a gap (mostly one space). */
        String expand(String template) {
            StringBuilder out = new StringBuilder();
            int i = 0;
            int mutations = chance(60) ? 1 + rng.nextInt(3) : 0;
            int letterCase = rng.nextInt(4); // as written, lower, upper, mixed
            char quote = 0;
            int spaces = (int) template.chars().filter(ch -> ch == ' ').count();
            while (i < template.length()) {
                char ch = template.charAt(i);
                if (ch == '{') {
                    int close = template.indexOf('}', i);
                    out.append(slot(template.substring(i + 1, close)));
                    i = close + 1;
                } else if (ch == ' ') {
                    boolean mutate = mutations > 0 && rng.nextInt(Math.max(1, spaces)) < mutations;
                    out.append(mutate ? gap(false) : " ");
                    i++;
                } else {
                    if (quote == 0 && (ch == '"' || ch == '\'')) {
                        quote = ch;
                    } else if (ch == quote) {
                        quote = 0;
                    }
                    out.append(quote == 0 ? recase(ch, letterCase) : ch);
                    i++;
                }
            }
            return out.toString();
        }

        /** Keywords and unquoted names are case-insensitive: write them in another case. */
        char recase(char ch, int letterCase) {
            return switch (letterCase) {
                case 1 -> Character.toLowerCase(ch);
                case 2 -> Character.toUpperCase(ch);
                case 3 -> chance(50) ? Character.toLowerCase(ch) : Character.toUpperCase(ch);
                default -> ch;
            };
        }

        String slot(String name) {
            return switch (name) {
                case "s" -> textLiteral();
                case "c" -> stringConstant();
                case "lit" -> anyLiteral();
                case "n" -> one(new String[] {"1", "2", "1.5", "1e3", ".5", "0x1F", "1_000", "42"});
                case "t" -> tableName("t");
                case "u" -> tableName("u");
                case "col" -> one(new String[] {"a", "\"a\"", "U&\"\\0061\"", "U&\"!0061\" UESCAPE '!'", "A"});
                case "label" -> one(new String[] {"x", "\"x;y\"", "a$$b$$", "\"a\"\"b\"", "\"--\"",
                        "U&\"d\\0061t\\+000061\"", "U&\"d!0061t!+000061\" UESCAPE '!'", "\"" + tricky() + "\"",
                        tricky() + "x", "\"/*\""});
                case "comment" -> commentBody(false);
                case "fbody" -> functionBody();
                case "dobody" -> doBody();
                case "plbody" -> dollarWrap(one(new String[] {"BEGIN RETURN 1; END",
                        "BEGIN DELETE FROM u; RETURN 1; END",
                        "DECLARE x int := 1; BEGIN IF x = 1 THEN RETURN 2; END IF; RETURN 3; END",
                        "BEGIN EXECUTE 'DELETE FROM u'; RETURN 1; END"}));
                default -> throw new IllegalArgumentException(name);
            };
        }

        String tableName(String name) {
            String hex = String.format("%04x", (int) name.charAt(0));
            return one(new String[] {name, "\"" + name + "\"", "public." + name, "U&\"" + name + "\"",
                    "U&\"\\" + hex + "\"", "U&\"!" + hex + "\" UESCAPE '!'", "\"public\".\"" + name + "\""});
        }

        String tricky() {
            return one(TRICKY_CHARACTERS.get(encoding));
        }

        /** Content of a literal, as characters (encoded per quoting form later). */
        String content() {
            StringBuilder c = new StringBuilder();
            int atoms = rng.nextInt(6);
            for (int k = 0; k < atoms; k++) {
                c.append(switch (rng.nextInt(16)) {
                    case 0 -> "'";
                    case 1 -> "\\";
                    case 2 -> ";";
                    case 3 -> "--";
                    case 4 -> "/*";
                    case 5 -> "*/";
                    case 6 -> "\"";
                    case 7 -> "$";
                    case 8 -> "$$";
                    case 9 -> one(WHITESPACE);
                    case 10, 11 -> tricky();
                    case 12 -> "; DROP TABLE u; --";
                    case 13 -> "END";
                    default -> "ab";
                });
            }
            return c.toString();
        }

        /** A text-valued literal: any string constant, or N''. */
        String textLiteral() {
            return chance(8) ? "N" + plain(content(), chance(70) ? scs : !scs) : stringConstant();
        }

        /** scan.l's SCONST in any form: plain, E, U& (with or without UESCAPE), dollar, continued. */
        String stringConstant() {
            String content = content();
            boolean assumeScs = chance(85) ? scs : !scs;
            return switch (rng.nextInt(6)) {
                case 0, 1 -> continued(content, 'p', assumeScs);
                case 2 -> continued(content, 'e', assumeScs);
                case 3 -> unicode(content);
                case 4 -> dollar(content);
                default -> plain(content, assumeScs);
            };
        }

        /** Any constant, bit strings and numbers included. */
        String anyLiteral() {
            return switch (rng.nextInt(8)) {
                case 0 -> bits();
                case 1 -> slot("n");
                default -> stringConstant();
            };
        }

        String plain(String content, boolean assumeScs) {
            return "'" + body(content, 'p', assumeScs) + "'";
        }

        /** The body of a quoted string in form p (plain) or e (E''), written for the assumed setting. */
        String body(String content, char form, boolean assumeScs) {
            StringBuilder b = new StringBuilder();
            boolean escapes = form == 'e' || !assumeScs;
            for (int k = 0; k < content.length(); k++) {
                char ch = content.charAt(k);
                if (ch == '\'') {
                    b.append(escapes && chance(50) ? "\\'" : "''");
                } else if (ch == '\\') {
                    b.append(escapes ? "\\\\" : "\\");
                } else if (escapes && ch == 'a' && chance(30)) {
                    b.append(one(new String[] {"\\x61", "\\141", "\\u0061", "\\U00000061", "\\a"}));
                } else {
                    b.append(ch);
                }
            }
            return b.toString();
        }

        /** A string split into pieces joined by whitespace holding a newline (scan.l's continuation). */
        String continued(String content, char form, boolean assumeScs) {
            String prefix = form == 'e' ? (chance(50) ? "E" : "e") : "";
            if (content.length() < 2 || chance(70)) {
                return prefix + "'" + body(content, form, assumeScs) + "'";
            }
            int cut = 1 + rng.nextInt(content.length() - 1);
            if (Character.isLowSurrogate(content.charAt(cut))) {
                cut--;
            }
            // A careless lexer reads the continuation as a fresh plain string: sometimes write it as one.
            char secondForm = chance(20) ? 'p' : form;
            return prefix + "'" + body(content.substring(0, cut), form, assumeScs) + "'" + newlineGap() + "'"
                    + body(content.substring(cut), secondForm, assumeScs) + "'";
        }

        String newlineGap() {
            return switch (rng.nextInt(5)) {
                case 0 -> "\n";
                case 1 -> "\r";
                case 2 -> " \t\r\n ";
                case 3 -> " -- c\n";
                default -> "\f\n\u000B";
            };
        }

        String unicode(String content) {
            boolean uescape = chance(40);
            char esc = uescape ? one(new Character[] {'!', '#', '*', '~'}) : '\\';
            StringBuilder b = new StringBuilder(chance(50) ? "U&'" : "u&'");
            for (int k = 0; k < content.length(); k++) {
                char ch = content.charAt(k);
                if (ch == '\'') {
                    b.append("''");
                } else if (ch == esc) {
                    b.append(esc).append(esc);
                } else if (ch == 'a' && chance(50)) {
                    b.append(esc).append(chance(50) ? "0061" : "+000061");
                } else {
                    b.append(ch);
                }
            }
            b.append('\'');
            if (uescape) {
                b.append(chance(50) ? " " : gap(false)).append("UESCAPE").append(chance(50) ? " " : gap(false))
                        .append('\'').append(esc).append('\'');
            }
            return b.toString();
        }

        String dollar(String content) {
            String[] tags = {"", "a", "b", "x_1", "A", "é"};
            for (int attempt = 0; attempt < 10; attempt++) {
                String tag = one(tags);
                String delimiter = "$" + tag + "$";
                String body = content;
                if (chance(30)) {
                    String other = "$" + one(tags) + "$";
                    body = other + content + other;
                }
                if (!(body + "$").contains(delimiter) && !body.endsWith("$" + tag)) {
                    return delimiter + body + delimiter;
                }
            }
            return "$q$ab$q$";
        }

        String bits() {
            String start = chance(50) ? (chance(50) ? "B'0101'" : "b'1'") : (chance(50) ? "X'1F'" : "x'a0'");
            return switch (rng.nextInt(5)) {
                case 0 -> start + newlineGap() + "'01'";
                case 1 -> start + newlineGap() + "'\\'";
                case 2 -> start + "''";
                default -> start;
            };
        }

        String functionBody() {
            String inner = "SELECT " + textLiteral();
            if (chance(50)) {
                return dollarWrap(inner);
            }
            return "'" + body(inner, 'p', scs) + "'";
        }

        String doBody() {
            String inner = switch (rng.nextInt(4)) {
                case 0 -> "BEGIN PERFORM " + textLiteral() + "; END";
                case 1 -> "BEGIN EXECUTE 'DROP TABLE u'; END";
                case 2 -> "DECLARE x text := " + textLiteral() + "; BEGIN RAISE NOTICE '%', x; END";
                default -> "BEGIN NULL; END";
            };
            return dollarWrap(inner);
        }

        String dollarWrap(String inner) {
            for (String tag : new String[] {"", "body", "do", "f_1"}) {
                String d = "$" + tag + "$";
                if (!(inner + "$").contains(d) && !inner.endsWith("$" + tag)) {
                    return d + inner + d;
                }
            }
            return "'SELECT 1'";
        }

        /** Between two statements: a semicolon (or several), with gaps around. */
        String separator() {
            return switch (rng.nextInt(8)) {
                case 0 -> ";";
                case 1 -> ";;";
                case 2 -> " ; ; ";
                case 3 -> gap(false) + ";";
                case 4 -> ";" + gap(false);
                case 5 -> gap(false) + ";" + gap(false) + ";" + gap(false);
                default -> "; ";
            };
        }

        /** After the last statement: nothing, a semicolon, or a comment that runs to the end of the text. */
        String terminator() {
            return switch (rng.nextInt(7)) {
                case 0 -> "";
                case 1 -> ";";
                case 2 -> "; --" + commentBody(false);
                case 3 -> " --" + commentBody(false);
                case 4 -> gap(true);
                case 5 -> ";" + one(WHITESPACE);
                default -> ";" + gap(true);
            };
        }

        /** Whitespace and comments that separate two tokens; never empty. */
        String gap(boolean endOfText) {
            StringBuilder g = new StringBuilder();
            int parts = 1 + rng.nextInt(3);
            for (int k = 0; k < parts; k++) {
                switch (rng.nextInt(4)) {
                    case 0, 1 -> {
                        int n = 1 + rng.nextInt(3);
                        for (int w = 0; w < n; w++) {
                            g.append(one(WHITESPACE));
                        }
                    }
                    case 2 -> {
                        g.append("--").append(commentBody(false));
                        boolean last = k == parts - 1;
                        g.append(endOfText && last && chance(50) ? ""
                                : one(new String[] {"\n", "\r", "\r\n", "\n\r"}));
                        if (endOfText && last) {
                            return g.toString();
                        }
                    }
                    default -> g.append(chance(20) ? one(ODD_BLOCK_COMMENTS) : blockComment(0));
                }
            }
            return g.toString();
        }

        String blockComment(int depth) {
            StringBuilder c = new StringBuilder("/*");
            c.append(commentBody(true));
            if (depth < 3 && chance(35)) {
                c.append(blockComment(depth + 1)).append(commentBody(true));
            }
            return c.append("*/").toString();
        }

        /** Text inside a comment; a block comment's text holds no comment delimiters of its own. */
        String commentBody(boolean block) {
            StringBuilder c = new StringBuilder();
            int atoms = rng.nextInt(5);
            for (int k = 0; k < atoms; k++) {
                String atom = switch (rng.nextInt(14)) {
                    case 0 -> ";";
                    case 1 -> "'";
                    case 2 -> "\"";
                    case 3 -> "$$";
                    case 4 -> "\\";
                    case 5 -> block ? "\n" : "\t";
                    case 6 -> block ? "\r" : "\f";
                    case 7 -> "DROP TABLE u;";
                    case 8 -> tricky();
                    case 9 -> block ? "--" : "/*";
                    case 10 -> block ? "*" : "*/";
                    case 11 -> "-";
                    case 12 -> "\u000B";
                    default -> "x";
                };
                if (block && c.length() > 0 && (c.charAt(c.length() - 1) == '*' && atom.startsWith("/")
                        || c.charAt(c.length() - 1) == '/' && atom.startsWith("*"))) {
                    atom = " " + atom;
                }
                c.append(atom);
            }
            if (block && c.length() > 0 && (c.charAt(c.length() - 1) == '*' || c.charAt(c.length() - 1) == '/')) {
                c.append(' ');
            }
            return c.toString();
        }

        /**
         * {@code text} with up to {@code count} of the gaps between its tokens (as Warden's lexer sees them)
         * replaced by generated ones. Only where to cut comes from the lexer under test; the oracles judge the
         * resulting text on its own.
         */
        String mutateGaps(String text, int count) {
            if (count == 0) {
                return text;
            }
            List<Lexer.Token> tokens = Lexer.tokenize(text, scs).tokens();
            if (tokens.size() < 2) {
                return text;
            }
            StringBuilder out = new StringBuilder(text);
            List<Integer> chosen = new ArrayList<>();
            for (int k = 0; k < count; k++) {
                chosen.add(rng.nextInt(tokens.size() - 1));
            }
            chosen.sort(java.util.Comparator.reverseOrder());
            int previous = -1;
            for (int idx : chosen) {
                if (idx == previous) {
                    continue;
                }
                previous = idx;
                int from = tokens.get(idx).end();
                int to = tokens.get(idx + 1).start();
                out.replace(from, to, gap(false));
            }
            return out.toString();
        }
    }
}
