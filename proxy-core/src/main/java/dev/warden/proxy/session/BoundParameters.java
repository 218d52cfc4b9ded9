package dev.warden.proxy.session;

import dev.warden.pg.message.FrontendMessage;
import dev.warden.sql.ClientEncoding;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Bind parameter values as approvers and the audit trail see them: text values quoted as SQL literals, binary
 * ones of the types Warden decodes as their text, other binary ones as their bytes marked {@code binary '\x...'}
 * (never as a text value could read), SQL NULL as {@code NULL}. Long values are cut, so a large bytea cannot bloat
 * a record; a cut value, and a text value that is not UTF-8 (shown with replacement characters), is followed by
 * its length and the SHA-256 of its exact bytes, so the record still names the one value the server got (before,
 * two writes that differed after the 256th character left the same record).
 */
final class BoundParameters {

    static final String NULL = "NULL";
    /**
     * Before a binary value Warden cannot decode (its type not declared at Parse, or not one it decodes): the
     * server reads those bytes as whatever type it infers for the parameter.
     */
    static final String BINARY = "binary ";
    private static final int MAX_CHARS = 256;
    /**
     * How much of a value an approver is shown (see {@link #forApprover}): the audit record keeps {@link #MAX_CHARS}
     * and the digest, an approval request the whole value up to this.
     */
    static final int APPROVER_MAX_CHARS = 65_536;
    /** text, varchar, bpchar, name. */
    private static final java.util.Set<Integer> TEXT_TYPES = java.util.Set.of(25, 1043, 1042, 19);

    private BoundParameters() {
    }

    /** @param types the parameter type OIDs Parse declared (0 or missing: unspecified) */
    static List<String> of(FrontendMessage.Bind bind, List<Integer> types) {
        return of(bind, types, ClientEncoding.UTF8);
    }

    /**
     * As {@link #of(FrontendMessage.Bind, List)}, text values read in the session's {@code client_encoding} as the
     * server converts them (null: one Warden cannot read). Before, they were read as UTF-8 whatever the encoding: a
     * helper's pass (a119) bound the UTF-8 bytes of {@code 'renÉ@evil.example'} under SJIS, the record and the
     * approver showed that, and the server stored {@code renﾃ院evil.example}.
     */
    static List<String> of(FrontendMessage.Bind bind, List<Integer> types, ClientEncoding encoding) {
        return of(bind.parameters(), bind.parameterFormats(), types, encoding);
    }

    private static List<String> of(List<byte[]> values, List<Short> formats, List<Integer> types) {
        return of(values, formats, types, ClientEncoding.UTF8);
    }

    /**
     * Whether a value of {@code bind} is longer than the record shows ({@link #MAX_CHARS} characters): an approver is
     * then shown it from the Bind, kept for that ({@link #forApprover}).
     */
    static boolean anyCut(FrontendMessage.Bind bind) {
        for (byte[] value : bind.parameters()) {
            if (value != null && value.length > MAX_CHARS / 2) {
                return true; // a binary value past 128 bytes is cut; a text one may be, by its characters
            }
        }
        return false;
    }

    /**
     * {@code bind}'s values as an approver sees them: whole up to {@link #APPROVER_MAX_CHARS} characters each (before,
     * only the first 256 were shown with the digest, and a helper's pass, a142 F4, hid 399 more ids of an {@code ANY($1)}
     * after 300 spaces: approved as a one-row UPDATE, it changed 400); null when a value is longer still: no approver
     * can be shown it.
     */
    static List<String> forApprover(FrontendMessage.Bind bind, List<Integer> types, ClientEncoding encoding) {
        List<String> out = of(bind.parameters(), bind.parameterFormats(), types, encoding, APPROVER_MAX_CHARS);
        for (int i = 0; i < out.size(); i++) {
            byte[] value = bind.parameters().get(i);
            // Cut where "…'" meets its digest: a quote inside the value is doubled, so that is no value's own text.
            if (value != null && value.length > APPROVER_MAX_CHARS / 2 && out.get(i).contains("…' (")) {
                return null;
            }
        }
        return out;
    }

    private static List<String> of(List<byte[]> values, List<Short> formats, List<Integer> types,
                                   ClientEncoding encoding) {
        return of(values, formats, types, encoding, MAX_CHARS);
    }

    private static List<String> of(List<byte[]> values, List<Short> formats, List<Integer> types,
                                   ClientEncoding encoding, int maxChars) {
        List<String> out = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            byte[] value = values.get(i);
            // A count of formats that is neither 0, 1 nor one per value: the server refuses the message (08P01,
            // "bind message has 2 parameter formats but 3 parameters") and Warden forgets what it bound (see
            // PreparedStatements#bindFailed). A value past the formats is shown as text here (before, the lookup
            // past the list's end ended the session with an internal error).
            short format = formats.isEmpty() ? 0 : formats.size() == 1 ? formats.get(0)
                    : i < formats.size() ? formats.get(i) : 0;
            out.add(render(value, format, i < types.size() ? types.get(i) : 0, encoding, maxChars));
        }
        return out;
    }

    /** The arguments of a FunctionCall message, of types Warden does not look up. */
    static List<String> ofCall(FrontendMessage.FunctionCall call) {
        return of(call.arguments(), call.argumentFormats(), List.of());
    }

    static String render(byte[] value, short format, int type) {
        return render(value, format, type, ClientEncoding.UTF8);
    }

    /**
     * One value as shown; a text one read in {@code encoding} (null: an encoding Warden cannot read). A value that is
     * not ASCII is shown with its length and SHA-256 unless it is valid UTF-8 under a UTF-8 client encoding: the
     * digest names the exact bytes where a reading may not.
     */
    static String render(byte[] value, short format, int type, ClientEncoding encoding) {
        return render(value, format, type, encoding, MAX_CHARS);
    }

    private static String render(byte[] value, short format, int type, ClientEncoding encoding, int maxChars) {
        if (value == null) {
            return NULL;
        }
        if (format == 1 && TEXT_TYPES.contains(type)) {
            // The binary form of a text type is its text, converted from client_encoding as a text value is.
            return render(value, (short) 0, type, encoding, maxChars);
        }
        if (format == 1) {
            String decoded = decodeBinary(value, type);
            if (decoded != null) {
                return "'" + decoded.replace("'", "''") + "'";
            }
            // Marked as binary: a text value spelled '\x41' is the four characters, which a text column stores as
            // such, while these are bytes the server reads with the type it gives the parameter (an attacker's pass
            // had a text '\x41' approved and then ran a binary 'A' under the same shown text and digest; a binary
            // int4 shown as '\x30303031' updated every row below 808464433).
            int n = Math.min(value.length, maxChars / 2);
            return BINARY + "'\\x" + HexFormat.of().formatHex(value, 0, n)
                    + (n < value.length ? "…'" + digest(value) : "'");
        }
        boolean ascii = ascii(value);
        String text = null;
        boolean exact = ascii;
        if (ascii) {
            text = new String(value, StandardCharsets.US_ASCII); // the usual value: ASCII in every encoding
        } else if (encoding != null && encoding != ClientEncoding.UTF8) {
            try {
                text = encoding.decode(value);
            } catch (java.nio.charset.CharacterCodingException e) {
                text = null; // the server refuses it (22021): shown leniently, with its digest
            }
        }
        if (text == null) {
            text = new String(value, StandardCharsets.UTF_8);
            // Under UTF-8 a valid value is exact; encoded again to compare.
            exact = encoding == ClientEncoding.UTF8
                    && java.util.Arrays.equals(text.getBytes(StandardCharsets.UTF_8), value);
        }
        exact &= text.length() <= maxChars;
        if (text.length() > maxChars) {
            text = text.substring(0, maxChars) + "…";
        }
        return "'" + text.replace("'", "''") + "'" + (exact ? "" : digest(value));
    }

    private static boolean ascii(byte[] value) {
        for (byte b : value) {
            if (b < 0) {
                return false;
            }
        }
        return true;
    }

    /** What names a value the record does not show whole: its length and the SHA-256 of its bytes. */
    private static String digest(byte[] value) {
        return " (" + value.length + " bytes, sha256 " + dev.warden.audit.event.CanonicalJson.sha256(value) + ")";
    }

    /** Binary values of the common scalar types as their text form; null for others (shown as bytes). */
    private static String decodeBinary(byte[] v, int type) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(v);
        return switch (type) {
            case 16 -> v.length == 1 ? (v[0] != 0 ? "t" : "f") : null;
            case 21 -> v.length == 2 ? Short.toString(b.getShort()) : null;
            case 23, 26 -> v.length == 4 ? (type == 26 ? Integer.toUnsignedString(b.getInt())
                    : Integer.toString(b.getInt())) : null;
            case 20 -> v.length == 8 ? Long.toString(b.getLong()) : null;
            case 700 -> v.length == 4 ? Float.toString(b.getFloat()) : null;
            case 701 -> v.length == 8 ? Double.toString(b.getDouble()) : null;
            default -> null;
        };
    }

    /** The text approvers see: the statement, then its values. */
    static String shown(String sql, List<String> parameters) {
        if (parameters == null || parameters.isEmpty()) {
            return sql;
        }
        StringBuilder b = new StringBuilder(sql).append("\n-- parameters:");
        for (int i = 0; i < parameters.size(); i++) {
            b.append(i == 0 ? " $" : ", $").append(i + 1).append(" = ").append(parameters.get(i));
        }
        return b.toString();
    }
}
