package dev.warden.proxy.session;

import dev.warden.pg.message.FrontendMessage;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Bind parameter values as approvers and the audit trail see them: text values quoted as SQL literals, binary
 * ones as a bytea literal, SQL NULL as {@code NULL}. Long values are cut, so a large bytea cannot bloat a record.
 */
final class BoundParameters {

    static final String NULL = "NULL";
    private static final int MAX_CHARS = 256;

    private BoundParameters() {
    }

    /** @param types the parameter type OIDs Parse declared (0 or missing: unspecified) */
    static List<String> of(FrontendMessage.Bind bind, List<Integer> types) {
        List<Short> formats = bind.parameterFormats();
        List<String> out = new ArrayList<>(bind.parameters().size());
        for (int i = 0; i < bind.parameters().size(); i++) {
            byte[] value = bind.parameters().get(i);
            short format = formats.isEmpty() ? 0 : formats.size() == 1 ? formats.get(0) : formats.get(i);
            out.add(render(value, format, i < types.size() ? types.get(i) : 0));
        }
        return out;
    }

    static String render(byte[] value, short format, int type) {
        if (value == null) {
            return NULL;
        }
        if (format == 1) {
            String decoded = decodeBinary(value, type);
            if (decoded != null) {
                return "'" + decoded.replace("'", "''") + "'";
            }
            int n = Math.min(value.length, MAX_CHARS / 2);
            return "'\\x" + HexFormat.of().formatHex(value, 0, n) + (n < value.length ? "…" : "") + "'";
        }
        String text = new String(value, StandardCharsets.UTF_8);
        if (text.length() > MAX_CHARS) {
            text = text.substring(0, MAX_CHARS) + "…";
        }
        return "'" + text.replace("'", "''") + "'";
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
            case 25, 1043, 1042, 19 -> render(v, (short) 0, 0).replaceAll("^'|'$", "").replace("''", "'");
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
