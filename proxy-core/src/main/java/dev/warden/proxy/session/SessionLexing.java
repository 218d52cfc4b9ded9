package dev.warden.proxy.session;

import dev.warden.proxy.guardrails.Decision;
import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import dev.warden.sql.ClientEncoding;
import dev.warden.sql.StatementFacts;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads a statement text the way this session's server will: its bytes decoded with the server's view of
 * {@code client_encoding} (and {@code server_encoding}), lexed under its {@code standard_conforming_strings}.
 * Both settings are followed from the server's own ParameterStatus reports (at login, which covers startup
 * {@code options} and {@code ALTER ROLE/DATABASE ... SET}, and after every change by SET, {@code set_config()},
 * RESET, a function's SET clause or DISCARD), so Warden never lexes under an assumption the server does not
 * share.
 *
 * <p>One gap remains between a change and its report: a text that arrives while earlier requests are still
 * running (pipelining) is read before Warden can know whether they changed a setting. Such a text is read
 * under every value the setting could take (both {@code standard_conforming_strings}; each encoding whose
 * multi-byte characters may hide ASCII bytes, and a byte-transparent one) and refused when any two readings
 * differ. Texts without a backslash in a plain string, and texts of ASCII bytes only, read the same under
 * all of them and pass at no extra cost.
 */
final class SessionLexing {

    /** Encodings a pipelined change could switch to that read a non-ASCII text differently. */
    private static final List<ClientEncoding> ALTERNATIVES = alternatives();

    private boolean standardConformingStrings = true;
    private String clientEncodingName = "UTF8";
    private String serverEncodingName = "UTF8";
    private ClientEncoding encoding = ClientEncoding.UTF8;

    /**
     * The settings at one moment: a text read on another thread is read under these, not later ones.
     *
     * @param serverFoldsAsciiOnly the server's encoding is multi-byte (UTF8, the EUC family, MULE_INTERNAL): it
     *     folds only ASCII letters of unquoted names, as Warden does. A single-byte one also folds the upper half's
     *     letters by its locale ({@code downcase_identifier}).
     * @param serverCharBytes 0 when the server's encoding is UTF8, where it cuts names at 63 bytes as Warden does;
     *     else the most bytes a non-ASCII character takes in it ({@code truncate_identifier} counts the server's
     *     bytes)
     */
    record Settings(boolean standardConformingStrings, String clientEncodingName, ClientEncoding encoding,
                    boolean serverFoldsAsciiOnly, int serverCharBytes, String serverEncodingName) {
    }

    /** The current settings, made again only when the server reports a change (not once per statement). */
    private Settings settings = new Settings(true, "UTF8", ClientEncoding.UTF8, true, 0, "UTF8");

    Settings settings() {
        return settings;
    }

    /**
     * See {@link Settings#serverCharBytes}: the longest character of each server encoding (pg_wchar.c's
     * {@code maxmblen}): four in EUC_TW and MULE_INTERNAL, three in the other EUC encodings, one in the single-byte
     * ones (every encoding but UTF8, the EUC family and MULE_INTERNAL, pg_wchar.h).
     */
    private static int serverCharBytes(String name) {
        String n = name.toUpperCase(Locale.ROOT).replace("-", "").replace("_", "");
        if (n.equals("UTF8") || n.equals("UNICODE")) {
            return 0;
        }
        if (n.equals("EUCTW") || n.equals("MULEINTERNAL")) {
            return 4;
        }
        return n.startsWith("EUC") ? 3 : 1;
    }

    /**
     * A text as read: the SQL, its analysis, or why Warden refuses to read it; and {@code read}, the analysis as the
     * text alone gives it, before the catalog's function effects were applied to {@code analysis} (a prepared
     * statement's are applied again at Execute when the catalog moved on: see PreparedStatements.Statement).
     */
    record Reading(String sql, Analysis analysis, Decision refusal, Analysis read) {
        Reading(String sql, Analysis analysis, Decision refusal) {
            this(sql, analysis, refusal, analysis);
        }

        Reading with(Analysis other) {
            return other == analysis ? this : new Reading(sql, other, refusal, read);
        }
    }

    /**
     * The reported settings that change what a statement's literals and values mean ({@code '01/12/2025'} is 12 January
     * under {@code DateStyle = 'ISO, MDY'} and 1 December under DMY), by the name the server reports, as reported.
     */
    private static final java.util.Set<String> MEANING = java.util.Set.of("datestyle", "intervalstyle", "timezone",
            "client_encoding", "standard_conforming_strings");
    private final java.util.TreeMap<String, String> meaning = new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    private String meaningText = "";

    /**
     * The settings in force that change what a statement's text and values mean, as the server last reported them
     * ({@code DateStyle=ISO, DMY; IntervalStyle=postgres; TimeZone=UTC; ...}): an approval is asked for, shown and
     * bound with them.
     */
    String meaningSettings() {
        return meaningText;
    }

    /** Takes a ParameterStatus report from the server. */
    void update(String name, String value) {
        if (MEANING.contains(name.toLowerCase(Locale.ROOT)) && !value.equals(meaning.put(name, value))) {
            StringBuilder text = new StringBuilder();
            meaning.forEach((k, v) -> text.append(text.isEmpty() ? "" : "; ").append(k).append('=').append(v));
            meaningText = text.toString();
        }
        switch (name.toLowerCase(Locale.ROOT)) {
            case "standard_conforming_strings" -> standardConformingStrings = !"off".equalsIgnoreCase(value);
            case "client_encoding" -> {
                clientEncodingName = value;
                encoding = ClientEncoding.of(clientEncodingName, serverEncodingName).orElse(null);
            }
            case "server_encoding" -> {
                serverEncodingName = value;
                encoding = ClientEncoding.of(clientEncodingName, serverEncodingName).orElse(null);
            }
            default -> { }
        }
        settings = new Settings(standardConformingStrings, clientEncodingName, encoding,
                serverCharBytes(serverEncodingName) != 1, serverCharBytes(serverEncodingName), serverEncodingName);
    }

    boolean standardConformingStrings() {
        return standardConformingStrings;
    }

    String clientEncoding() {
        return clientEncodingName;
    }

    /**
     * Reads the SQL text of a Query or Parse message.
     *
     * @param frame the whole message
     * @param textOffset where the text's bytes start in {@code frame} (absolute index)
     * @param inFlight whether earlier requests may still be running on the server, so that a setting may
     *     have changed without Warden having been told yet
     */
    Reading read(Analyzer analyzer, ByteBuf frame, int textOffset, boolean inFlight) {
        return read(settings(), analyzer, frame, textOffset, inFlight, true);
    }

    /**
     * {@link #read(Analyzer, ByteBuf, int, boolean)} under {@code settings}; with {@code cold} false, returns
     * null instead of running JSqlParser (the caller then reads the text on a worker thread).
     */
    static Reading read(Settings settings, Analyzer analyzer, ByteBuf frame, int textOffset, boolean inFlight,
                        boolean cold) {
        boolean standardConformingStrings = settings.standardConformingStrings();
        ClientEncoding encoding = settings.encoding();
        String clientEncodingName = settings.clientEncodingName();
        int end = frame.indexOf(textOffset, frame.writerIndex(), (byte) 0);
        int length = (end < 0 ? frame.writerIndex() : end) - textOffset;
        if (!cold && length > AnalysisLanes.SMALL_TEXT_BYTES) {
            // Decoding a long text (and the 250 KB of a parse flood) is work for the analysis lanes too.
            return null;
        }
        String sql;
        byte[] bytes = null;
        if (encoding == ClientEncoding.UTF8) {
            // The server refuses invalid UTF-8 outright (22021), so the lenient reading never runs anything.
            sql = frame.toString(textOffset, length, StandardCharsets.UTF_8);
        } else if (encoding == null && isAscii(frame, textOffset, length)) {
            // Without a byte >= 0x80 no character can span bytes: every byte is ASCII in every encoding.
            sql = frame.toString(textOffset, length, StandardCharsets.US_ASCII);
        } else if (encoding == null) {
            return refusal(frame, textOffset, length, "client-encoding", "Warden cannot read client_encoding \""
                    + clientEncodingName + "\", so it cannot tell what this text runs",
                    "use UTF8 or another encoding Warden supports (see README)");
        } else {
            bytes = ByteBufUtil.getBytes(frame, textOffset, length);
            try {
                sql = encoding.decode(bytes);
            } catch (CharacterCodingException e) {
                return refusal(frame, textOffset, length, "client-encoding", "the text is not valid in "
                        + "client_encoding \"" + clientEncodingName + "\"", null);
            }
        }
        Analysis analysis = analyze(analyzer, sql, standardConformingStrings, cold);
        if (analysis == null) {
            return null;
        }
        if (!settings.serverFoldsAsciiOnly() && Analyzer.hasNonAsciiName(sql, standardConformingStrings)) {
            return new Reading(sql, analysis, Decision.block("server-encoding-names", "the server's encoding is "
                    + "single-byte, so it folds the non-ASCII letters of unquoted names by its locale, which Warden "
                    + "cannot follow", "write such names in double quotes, exactly as they are stored"));
        }
        if (settings.serverCharBytes() > 0
                && Analyzer.mayCutNamesUnlikeUtf8(sql, standardConformingStrings, settings.serverCharBytes())) {
            return new Reading(sql, analysis, Decision.block("server-encoding-names", "the server's encoding is "
                    + "not UTF8, and it cuts a name longer than 63 bytes by its own bytes: a long name with non-ASCII "
                    + "characters could mean another relation to it than to Warden", "use a shorter name"));
        }
        if (!inFlight) {
            return new Reading(sql, analysis, null);
        }
        Analysis otherSetting = Analyzer.dependsOnStringSetting(sql)
                ? analyze(analyzer, sql, !standardConformingStrings, cold) : analysis;
        if (otherSetting == null) {
            return null;
        }
        if (!sameReading(analysis, otherSetting)) {
            return new Reading(sql, analysis, Decision.block("pipelined-string-setting", "this text reads "
                    + "differently under standard_conforming_strings on and off, and a statement still running "
                    + "may change that setting", "send it once the earlier statements have completed, or write "
                    + "the string as E'...'"));
        }
        if (bytes == null) {
            bytes = ByteBufUtil.getBytes(frame, textOffset, length);
        }
        if (hasNonAscii(bytes)) {
            for (ClientEncoding other : ALTERNATIVES) {
                if (other.name().equals(encoding.name())) {
                    continue;
                }
                // Leniently: Java refuses some sequences the server reads (1,639 of SHIFT_JIS_2004's two-byte ones
                // in windows-31j), and skipping the encoding then let a helper's text hide a DELETE. Each such
                // character is one replacement character, as long as the server's; bytes the server refuses under
                // that encoding run nothing there, however they read.
                String otherText = other.into(settings.serverEncodingName()).decodeLeniently(bytes);
                if (otherText == null) {
                    continue; // the server refuses the text under that encoding: nothing would run
                }
                // Under either standard_conforming_strings: a pipelined change may switch both settings at once.
                for (boolean scs : Analyzer.dependsOnStringSetting(otherText)
                        ? new boolean[] {standardConformingStrings, !standardConformingStrings}
                        : new boolean[] {standardConformingStrings}) {
                    Analysis alternative = analyze(analyzer, otherText, scs, cold);
                    if (alternative == null) {
                        return null;
                    }
                    if (!sameReading(analysis, alternative)) {
                        return new Reading(sql, analysis, Decision.block("pipelined-client-encoding", "this text "
                                + "reads differently under client_encoding " + other.name() + ", and a statement "
                                + "still running may change that setting", "send it once the earlier statements "
                                + "have completed"));
                    }
                }
            }
        }
        return new Reading(sql, analysis, null);
    }

    private static Analysis analyze(Analyzer analyzer, String sql, boolean scs, boolean cold) {
        return cold ? analyzer.analyze(sql, scs) : analyzer.analyzeCached(sql, scs);
    }

    private static Reading refusal(ByteBuf frame, int offset, int length, String rule, String reason, String hint) {
        // Shown in the audit record as the server would not have read it: byte for byte, never decoded.
        String lossless = "-- bytes (base64): " + java.util.Base64.getEncoder().encodeToString(
                ByteBufUtil.getBytes(frame, offset, length));
        return new Reading(lossless, null, Decision.block(rule, reason, hint));
    }

    private static boolean isAscii(ByteBuf frame, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (frame.getByte(i) < 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean hasNonAscii(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Same statements, each with the same facts but its text (kinds, shapes, names read and written, functions,
     * WHERE, role): a reading that differs in anything a guardrail or masking judges is another reading. (Kinds
     * and writes alone are not enough: a call of a function that deletes every row is not a write until the
     * catalog is asked, after this comparison.)
     */
    static boolean sameReading(Analysis a, Analysis b) {
        if (a.statements().size() != b.statements().size()) {
            return false;
        }
        for (int i = 0; i < a.statements().size(); i++) {
            List<StatementFacts> x = a.statements().get(i).allStatements();
            List<StatementFacts> y = b.statements().get(i).allStatements();
            if (x.size() != y.size()) {
                return false;
            }
            for (int k = 0; k < x.size(); k++) {
                if (!sameButText(x.get(k), y.get(k))) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean sameButText(StatementFacts f, StatementFacts g) {
        return f.kind() == g.kind() && f.writes() == g.writes() && f.dynamicSql() == g.dynamicSql()
                && f.hasWhere() == g.hasWhere() && f.unparsed() == g.unparsed()
                && f.dataModifyingCte() == g.dataModifyingCte() && f.fingerprint().equals(g.fingerprint())
                && f.objectType().equals(g.objectType()) && f.tablesRead().equals(g.tablesRead())
                && f.tablesWritten().equals(g.tablesWritten()) && f.columnsRead().equals(g.columnsRead())
                && f.columnsWritten().equals(g.columnsWritten()) && f.functions().equals(g.functions())
                && f.implicitCalls().equals(g.implicitCalls()) && f.innerKinds().equals(g.innerKinds())
                && f.copy().equals(g.copy()) && f.roleTarget().equals(g.roleTarget())
                && f.preparedName().equals(g.preparedName());
    }

    private static List<ClientEncoding> alternatives() {
        List<ClientEncoding> out = new ArrayList<>();
        out.add(ClientEncoding.RAW);
        for (String name : List.of("SJIS", "SHIFT_JIS_2004", "BIG5", "GBK", "UHC", "GB18030", "JOHAB")) {
            ClientEncoding.named(name).ifPresent(out::add);
        }
        return List.copyOf(out);
    }
}
