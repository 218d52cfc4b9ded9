package dev.warden.proxy.session;

import dev.warden.pg.message.BackendMessage;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Masks the free text of errors, notices, notifications and parameter reports, which can echo the values a
 * statement touched. Severity, code, position and names are kept.
 */
final class MessageTextMasking {

    private MessageTextMasking() {
    }

    /**
     * The masked message, or null when nothing changed (or the message carries no free text). {@code mask} gets
     * each text with all the fields of its error or notice (empty for a notification or parameter report).
     */
    static BackendMessage mask(BackendMessage message, BiFunction<String, Map<Character, String>, String> mask) {
        if (message instanceof BackendMessage.ErrorResponse e) {
            Map<Character, String> fields = maskFields(e.fields(), mask);
            return fields == null ? null : new BackendMessage.ErrorResponse(fields);
        }
        if (message instanceof BackendMessage.NoticeResponse n) {
            Map<Character, String> fields = maskFields(n.fields(), mask);
            return fields == null ? null : new BackendMessage.NoticeResponse(fields);
        }
        if (message instanceof BackendMessage.NotificationResponse a) {
            String payload = mask.apply(a.payload(), Map.of());
            return payload.equals(a.payload()) ? null
                    : new BackendMessage.NotificationResponse(a.processId(), a.channel(), payload);
        }
        if (message instanceof BackendMessage.ParameterStatus p) {
            String value = mask.apply(p.value(), Map.of());
            return value.equals(p.value()) ? null : new BackendMessage.ParameterStatus(p.name(), value);
        }
        return null;
    }

    private static Map<Character, String> maskFields(Map<Character, String> fields,
                                                     BiFunction<String, Map<Character, String>, String> mask) {
        Map<Character, String> out = new LinkedHashMap<>(fields);
        boolean changed = false;
        for (char f : new char[] {'M', 'D', 'H', 'W', 'q'}) {
            String v = fields.get(f);
            if (v != null) {
                String m = mask.apply(v, fields);
                if (!m.equals(v)) {
                    out.put(f, m);
                    changed = true;
                }
            }
        }
        return changed ? out : null;
    }
}
