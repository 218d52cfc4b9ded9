package dev.warden.proxy.privilege;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds startup parameters that would change the database role: {@code role} or {@code session_authorization}
 * sent as parameters of their own (the server applies any startup parameter as a setting, and setting names are
 * case-insensitive), or inside {@code options} as {@code -c role=x}, {@code -crole=x} or {@code --role=x}.
 * Options are split the way the server splits them: on white space, with a backslash keeping the next character.
 */
final class StartupRoleOptions {

    private static final Set<String> ROLE_SETTINGS = Set.of("role", "session_authorization");

    private StartupRoleOptions() {
    }

    /** The offending setting, as the client wrote it, if any. */
    static Optional<String> roleChange(Map<String, String> parameters) {
        for (Map.Entry<String, String> p : parameters.entrySet()) {
            String name = p.getKey().toLowerCase(Locale.ROOT);
            if (ROLE_SETTINGS.contains(name)) {
                return Optional.of(p.getKey());
            }
            if (name.equals("options")) {
                Optional<String> inOptions = inOptions(p.getValue());
                if (inOptions.isPresent()) {
                    return inOptions;
                }
            }
        }
        return Optional.empty();
    }

    private static Optional<String> inOptions(String options) {
        List<String> words = words(options);
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            String setting = null;
            if (w.equals("-c") && i + 1 < words.size()) {
                setting = words.get(++i);
            } else if (w.startsWith("-c")) {
                setting = w.substring(2);
            } else if (w.startsWith("--")) {
                setting = w.substring(2);
            }
            if (setting != null) {
                int eq = setting.indexOf('=');
                // The server turns '-' into '_' in names given as --name=value.
                String name = (eq < 0 ? setting : setting.substring(0, eq)).replace('-', '_').toLowerCase(Locale.ROOT);
                if (ROLE_SETTINGS.contains(name)) {
                    return Optional.of("options=" + w + (w.equals("-c") ? " " + setting : ""));
                }
            }
        }
        return Optional.empty();
    }

    private static List<String> words(String options) {
        List<String> out = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < options.length(); i++) {
            char c = options.charAt(i);
            if (c == '\\' && i + 1 < options.length()) {
                word.append(options.charAt(++i));
            } else if (Character.isWhitespace(c)) {
                if (!word.isEmpty()) {
                    out.add(word.toString());
                    word.setLength(0);
                }
            } else {
                word.append(c);
            }
        }
        if (!word.isEmpty()) {
            out.add(word.toString());
        }
        return out;
    }
}
