package dev.warden.proxy.session;

import dev.warden.pg.message.BackendMessage;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Masks the free text of errors, notices, notifications and parameter reports, which can echo the values a
 * statement touched, and the names a PL/pgSQL RAISE may set to any value. Severity and code are kept (but see
 * {@link ResultMasking#maskMessage} for a RAISE's); the position fields are dropped where they may count a value.
 */
final class MessageTextMasking {

    private MessageTextMasking() {
    }

    /** Masks one field's text; {@code field} is its code ({@code 'M'}, {@code 'c'} ...), 0 outside errors and notices. */
    @FunctionalInterface
    interface FieldMask {
        String mask(char field, String text, Map<Character, String> fields);
    }

    /** Free text, which may echo values. */
    private static final char[] TEXT_FIELDS = {'M', 'D', 'H', 'W', 'q'};
    /** Names: the server's own are names, but {@code RAISE ... USING COLUMN = ...} sets them to any value. */
    private static final char[] NAME_FIELDS = {'s', 't', 'c', 'd', 'n'};
    /** The SQLSTATE: the server's own, but {@code RAISE ... USING ERRCODE = ...} sets it to any five characters. */
    private static final char[] CODE_FIELDS = {'C'};
    /** The level (localized, then not): {@code RAISE WARNING} or {@code RAISE NOTICE} is the code's choice. */
    private static final char[] SEVERITY_FIELDS = {'S', 'V'};
    /**
     * The position in the statement's text, and in an internal query's: an offset into a string the server parsed at
     * run time ({@code (repeat(' ', <digits of an SSN>) || 'x y')::regtype}) counts whatever built that string (a
     * helper's pass, a140 F2). {@code mask} answering null drops the field.
     */
    private static final char[] POSITION_FIELDS = {'P', 'p'};

    /**
     * The masked message, or null when nothing changed (or the message carries no free text). {@code mask} gets
     * each text with all the fields of its error or notice (empty for a notification or parameter report).
     */
    static BackendMessage mask(BackendMessage message, FieldMask mask) {
        if (message instanceof BackendMessage.ErrorResponse e) {
            Map<Character, String> fields = maskFields(e.fields(), mask);
            return fields == null ? null : new BackendMessage.ErrorResponse(fields);
        }
        if (message instanceof BackendMessage.NoticeResponse n) {
            Map<Character, String> fields = maskFields(n.fields(), mask);
            return fields == null ? null : new BackendMessage.NoticeResponse(fields);
        }
        if (message instanceof BackendMessage.NotificationResponse a) {
            String payload = mask.mask((char) 0, a.payload(), Map.of());
            return payload.equals(a.payload()) ? null
                    : new BackendMessage.NotificationResponse(a.processId(), a.channel(), payload);
        }
        if (message instanceof BackendMessage.ParameterStatus p) {
            String value = mask.mask((char) 0, p.value(), Map.of());
            return value.equals(p.value()) ? null : new BackendMessage.ParameterStatus(p.name(), value);
        }
        return null;
    }

    /**
     * {@code message} (read byte for byte, ISO-8859-1) with each text that is not ASCII {@code [redacted]}: what is
     * sent when Warden cannot tell the encoding the text is in and a reading of it found something to mask.
     */
    static BackendMessage redactNonAscii(BackendMessage message) {
        java.util.function.UnaryOperator<String> r = s -> s.chars().allMatch(c -> c < 0x80) ? s : "[redacted]";
        if (message instanceof BackendMessage.ErrorResponse e) {
            Map<Character, String> fields = new LinkedHashMap<>(e.fields());
            fields.replaceAll((k, v) -> r.apply(v));
            return new BackendMessage.ErrorResponse(fields);
        }
        if (message instanceof BackendMessage.NoticeResponse n) {
            Map<Character, String> fields = new LinkedHashMap<>(n.fields());
            fields.replaceAll((k, v) -> r.apply(v));
            return new BackendMessage.NoticeResponse(fields);
        }
        if (message instanceof BackendMessage.NotificationResponse a) {
            return new BackendMessage.NotificationResponse(a.processId(), r.apply(a.channel()), r.apply(a.payload()));
        }
        if (message instanceof BackendMessage.ParameterStatus p) {
            return new BackendMessage.ParameterStatus(p.name(), r.apply(p.value()));
        }
        return message;
    }

    private static Map<Character, String> maskFields(Map<Character, String> fields, FieldMask mask) {
        Map<Character, String> out = null;
        for (char[] kind : new char[][] {TEXT_FIELDS, NAME_FIELDS, CODE_FIELDS, SEVERITY_FIELDS, POSITION_FIELDS}) {
            for (char f : kind) {
                String v = fields.get(f);
                if (v != null) {
                    String m = mask.mask(f, v, fields);
                    if (m == null) {
                        out = out == null ? new LinkedHashMap<>(fields) : out;
                        out.remove(f);
                    } else if (!m.equals(v)) {
                        out = out == null ? new LinkedHashMap<>(fields) : out;
                        out.put(f, m);
                    }
                }
            }
        }
        return out;
    }
}
