package dev.warden.audit.query;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Who and where each session is, learned while reading, so results and session ends can be filtered too. */
final class SessionIndex {

    record Who(String username, String kind, String environment) {
    }

    private final Map<String, Who> sessions = new HashMap<>();
    private final Set<Long> matchedQueries = new HashSet<>();
    /** The user of each recent query, by seq: a result belongs to its query's user (see {@link #who}). */
    private final Map<Long, String> queryUsers = new java.util.LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, String> eldest) {
            return size() > 10_000;
        }
    };

    void learn(AuditRecord r) {
        switch (r.type()) {
            case "session.start" -> sessions.put(r.session(), new Who(r.get("identity").path("username").asText(""),
                    r.get("identity").path("kind").asText(""), r.get("environment").asText("")));
            case "query" -> {
                sessions.putIfAbsent(r.session(), new Who(r.get("username").asText(""), "",
                        r.get("environment").asText("")));
                queryUsers.put(r.seq(), r.get("username").asText(""));
            }
            default -> {
            }
        }
    }

    Who who(AuditRecord r) {
        if (r.type().equals("auth.failure")) {
            return new Who(r.get("username").asText(""), "", "");
        }
        if (r.type().equals("role.settings_reset")) {
            // Written before the session's session.start: it names the identity itself.
            return new Who(r.get("identity").path("username").asText(""), r.get("identity").path("kind").asText(""),
                    r.get("environment").asText(""));
        }
        Who known = sessions.get(r.session());
        if (r.type().equals("query")) {
            String kind = known == null ? "" : known.kind();
            return new Who(r.get("username").asText(""), kind, r.get("environment").asText(""));
        }
        String queryUser = r.type().equals("result") ? queryUsers.get(r.get("query_seq").asLong(-1)) : null;
        if (queryUser != null && (known == null || !known.username().equals(queryUser))) {
            // Another session that began later under the same id (32 random bits in older logs) is not whose result this is.
            return new Who(queryUser, "", known == null ? "" : known.environment());
        }
        return known == null ? new Who("", "", "") : known;
    }

    boolean matches(AuditFilter filter, AuditRecord r) {
        if (filter.from().isPresent() && r.ts().isBefore(filter.from().get())) {
            return false;
        }
        if (filter.to().isPresent() && !r.ts().isBefore(filter.to().get())) {
            return false;
        }
        boolean internal = r.type().equals("checkpoint") || r.type().equals("recovery");
        if (internal) {
            return !filter.selectsIdentityOrContent();
        }
        Who who = who(r);
        // ASCII letters' case only, as approvals tell people apart: equalsIgnoreCase took \u212Aate@x (KELVIN SIGN),
        // another identity, for kate@x (an attacker's pass, a148).
        if (filter.user().isPresent() && !sameUser(filter.user().get(), who.username())) {
            return false;
        }
        if (filter.environment().isPresent() && !filter.environment().get().equals(who.environment())) {
            return false;
        }
        if (filter.agentsOnly() && !who.kind().equals("agent")) {
            return false;
        }
        if (filter.blockedOnly() || filter.table().isPresent() || !filter.decisions().isEmpty()) {
            if (r.type().equals("query")) {
                String decision = r.get("decision").asText("");
                boolean ok = (!filter.blockedOnly() || decision.equals("block"))
                        && (filter.decisions().isEmpty() || filter.decisions().contains(decision))
                        && (filter.table().isEmpty() || touches(r, filter.table().get()));
                if (ok) {
                    matchedQueries.add(r.seq());
                }
                return ok;
            }
            return r.type().equals("result") && matchedQueries.contains(r.get("query_seq").asLong(-1));
        }
        return true;
    }

    private static boolean touches(AuditRecord r, String table) {
        String wanted = table.toLowerCase(Locale.ROOT);
        for (String field : new String[] {"tables_read", "tables_written"}) {
            for (JsonNode t : r.get(field)) {
                String name = t.asText("").toLowerCase(Locale.ROOT);
                if (name.equals(wanted) || name.endsWith("." + wanted)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether two user names are equal but for the case of ASCII letters. */
    static boolean sameUser(String a, String b) {
        if (a.length() != b.length()) {
            return false;
        }
        for (int i = 0; i < a.length(); i++) {
            char x = a.charAt(i);
            char y = b.charAt(i);
            if (x != y && !(x < 128 && y < 128 && Character.toLowerCase(x) == Character.toLowerCase(y))) {
                return false;
            }
        }
        return true;
    }
}
