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
 * case-insensitive), or inside {@code options} as {@code -c role=x}, {@code -crole=x} or {@code --role=x}, alone or
 * behind other switches in one word ({@code -ec role=x}, {@code -E-role=x}). Options are split the way the server
 * splits them: on white space, with a backslash keeping the next character; each word is read as getopt reads it.
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

    /**
     * The switches of the server's getopt string ({@code postgres.c}, process_postgres_switches) that take an
     * argument: the rest of the word, or the next word. The others take none, and the next character of the word is
     * the next switch: {@code -ec role=x} is {@code -e -c role=x}, {@code -E-role=x} is {@code -E --role=x}.
     */
    private static final String TAKES_ARGUMENT = "BCcDdfhkNprStvW-";

    private static Optional<String> inOptions(String options) {
        List<String> words = words(options);
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            if (w.length() < 2 || w.charAt(0) != '-') {
                continue; // glibc's getopt moves such words aside and reads on; the server then refuses the login
            }
            for (int j = 1; j < w.length(); j++) {
                char flag = w.charAt(j);
                if (TAKES_ARGUMENT.indexOf(flag) < 0) {
                    continue;
                }
                String argument = j + 1 < w.length() ? w.substring(j + 1) : i + 1 < words.size() ? words.get(++i) : "";
                if (flag == 'c' || flag == '-') {
                    int eq = argument.indexOf('=');
                    // The server turns '-' into '_' in the name (ParseLongOption).
                    String name = (eq < 0 ? argument : argument.substring(0, eq)).replace('-', '_')
                            .toLowerCase(Locale.ROOT);
                    if (ROLE_SETTINGS.contains(name)) {
                        return Optional.of("options=" + w + (j + 1 < w.length() ? "" : " " + argument));
                    }
                }
                break; // the argument ends the word
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
