package dev.warden.audit.ocsf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns the chain's records into OCSF 1.3 events, one per record, each carrying the record itself in
 * {@code raw_data} (so the chain stays verifiable wherever the events go):
 * <ul>
 *   <li>{@code session.start}, {@code session.end}, {@code auth.failure}: Authentication (class 3002), Logon or
 *       Logoff, success or failure;</li>
 *   <li>{@code query} and {@code result}: Datastore Activity (class 6005) with the actor (name, groups, agent or
 *       human), source endpoint, database (the environment), table, query, and the disposition (allowed,
 *       blocked, or held for approval); a result adds the masked columns;</li>
 *   <li>the log's own records and approvals: Base Event (class 0).</li>
 * </ul>
 * Identity and client address are known from a session's {@code session.start}, so the mapper remembers recent
 * sessions (and queries, for their results): feed it the log in order. Not thread-safe.
 */
public final class OcsfMapper {

    /** The OCSF schema version the events follow. */
    public static final String OCSF_VERSION = "1.3.0";

    static final int AUTHENTICATION = 3002;
    static final int DATASTORE_ACTIVITY = 6005;
    static final int BASE_EVENT = 0;

    private static final ObjectMapper JSON = dev.warden.audit.event.CanonicalJson.recordReader();
    private static final int REMEMBERED = 10_000;
    private static final Pattern IP = Pattern.compile(
            "(\\d{1,3}\\.){3}\\d{1,3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(:(\\d{1,3}\\.){3}\\d{1,3})?");

    private final Map<String, JsonNode> sessions = lru();
    /**
     * The same starts by session id and user name: session ids were 32 random bits (64 since 2026-12-03), so in
     * a long log two open sessions can share one, and a statement is attributed to the start of its own record's
     * user, never to whichever session began last under the id.
     */
    private final Map<String, JsonNode> startsByUser = lru();
    private final Map<Long, JsonNode> queries = lru();

    private static String sessionOf(String session, String username) {
        return session + '\0' + username;
    }

    private static <K> Map<K, JsonNode> lru() {
        return new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, JsonNode> eldest) {
                return size() > REMEMBERED;
            }
        };
    }

    /** The OCSF event for one record line, as JSON bytes. */
    public byte[] event(byte[] line) {
        return map(line).toString().getBytes(StandardCharsets.UTF_8);
    }

    public ObjectNode map(byte[] line) {
        JsonNode record;
        try {
            record = JSON.readTree(line);
        } catch (IOException e) {
            throw new IllegalArgumentException("not an audit record: " + e.getMessage(), e);
        }
        String type = record.path("type").asText("");
        ObjectNode event = switch (type) {
            case "session.start" -> sessionStart(record);
            case "session.end" -> sessionEnd(record);
            case "auth.failure" -> authFailure(record);
            case "query" -> query(record);
            case "result" -> result(record);
            default -> base(record, BASE_EVENT, 0, 99, type);
        };
        event.put("raw_data", new String(line, StandardCharsets.UTF_8));
        return event;
    }

    // ---- Authentication (3002) -------------------------------------------------------------------------------

    private ObjectNode sessionStart(JsonNode r) {
        sessions.put(r.path("session").asText(), r);
        startsByUser.put(sessionOf(r.path("session").asText(), r.path("identity").path("username").asText("")), r);
        ObjectNode e = base(r, AUTHENTICATION, 3, 1, "Logon");
        e.put("status_id", 1).put("status", "Success");
        e.set("user", user(r.path("identity")));
        authCommon(e, r, r.path("client").path("address").asText(""), r.path("environment").asText(""));
        e.put("message", "session started in " + r.path("environment").asText(""));
        return e;
    }

    private ObjectNode sessionEnd(JsonNode r) {
        JsonNode start = sessions.remove(r.path("session").asText());
        if (start != null) {
            startsByUser.remove(sessionOf(r.path("session").asText(), start.path("identity").path("username")
                    .asText("")));
        }
        ObjectNode e = base(r, AUTHENTICATION, 3, 2, "Logoff");
        e.put("status_id", 1).put("status", "Success");
        e.set("user", start == null ? unknownUser(r.path("session").asText())
                : user(start.path("identity")));
        authCommon(e, r, start == null ? "" : start.path("client").path("address").asText(""),
                start == null ? "" : start.path("environment").asText(""));
        e.put("message", "session ended: " + r.path("reason").asText(""));
        return e;
    }

    private ObjectNode authFailure(JsonNode r) {
        ObjectNode e = base(r, AUTHENTICATION, 3, 1, "Logon");
        e.put("status_id", 2).put("status", "Failure");
        e.put("status_code", r.path("sqlstate").asText(""));
        e.put("status_detail", r.path("reason").asText(""));
        ObjectNode user = JSON.createObjectNode();
        String name = r.path("username").asText("");
        user.put("name", name.isEmpty() ? "(none)" : name);
        e.set("user", user);
        authCommon(e, r, r.path("client_address").asText(""), "");
        e.put("message", "login failed: " + r.path("reason").asText(""));
        return e;
    }

    private void authCommon(ObjectNode e, JsonNode r, String clientAddress, String environment) {
        e.put("auth_protocol_id", 4).put("auth_protocol", "OpenID");
        e.put("is_remote", true);
        e.set("src_endpoint", endpoint(clientAddress, r.path("session").asText()));
        ObjectNode dst = e.putObject("dst_endpoint");
        dst.put("svc_name", "postgresql");
        if (!environment.isEmpty()) {
            dst.put("name", environment);
        }
        e.putObject("session").put("uid", r.path("session").asText());
    }

    // ---- Datastore Activity (6005) ---------------------------------------------------------------------------

    private ObjectNode query(JsonNode r) {
        queries.put(r.path("seq").asLong(), r);
        JsonNode start = startsByUser.get(sessionOf(r.path("session").asText(), r.path("username").asText("")));
        int activity = activityOf(r.path("kinds"));
        ObjectNode e = base(r, DATASTORE_ACTIVITY, 6, activity, DATASTORE_ACTIVITIES[activity == 99 ? 0 : activity]);
        datastoreCommon(e, r, start, r.path("environment").asText(""), r.path("username").asText(""));
        queryInfo(e, r);
        String decision = r.path("decision").asText("");
        String rule = r.path("rule").asText("");
        switch (decision) {
            case "block" -> {
                disposition(e, 2, "Blocked", 2, "Denied");
                e.put("status_id", 2).put("status", "Failure");
                e.put("message", "blocked by " + rule);
            }
            case "approval" -> {
                disposition(e, 99, "Held", 99, "Held");
                e.put("status_id", 99).put("status", "Held for approval");
                e.put("message", "held for approval by " + rule);
            }
            default -> {
                disposition(e, 1, "Allowed", 1, "Allowed");
                e.put("status_id", 1).put("status", "Success");
                e.put("message", "statement allowed");
            }
        }
        if (!rule.isEmpty()) {
            e.putObject("policy").put("name", rule).put("version", r.path("policy_version").asText(""));
        }
        return e;
    }

    private ObjectNode result(JsonNode r) {
        JsonNode query = queries.remove(r.path("query_seq").asLong());
        JsonNode start = query == null ? sessions.get(r.path("session").asText())
                : startsByUser.get(sessionOf(r.path("session").asText(), query.path("username").asText("")));
        int activity = query == null ? 99 : activityOf(query.path("kinds"));
        ObjectNode e = base(r, DATASTORE_ACTIVITY, 6, activity, DATASTORE_ACTIVITIES[activity == 99 ? 0 : activity]);
        datastoreCommon(e, r, start, query == null ? "" : query.path("environment").asText(""),
                query == null ? "" : query.path("username").asText(""));
        if (query != null) {
            queryInfo(e, query);
        } else {
            e.putObject("query_info").put("query_string", r.path("command_tag").asText(""));
        }
        ObjectNode info = (ObjectNode) e.get("query_info");
        info.put("bytes", r.path("bytes").asLong());
        String sqlstate = r.path("sqlstate").asText("");
        boolean ok = sqlstate.isEmpty() || sqlstate.startsWith("00");
        e.put("status_id", ok ? 1 : 2).put("status", ok ? "Success" : "Failure");
        if (!ok) {
            e.put("status_code", sqlstate);
        }
        disposition(e, 1, "Allowed", 1, "Allowed");
        ArrayNode masked = JSON.createArrayNode();
        for (JsonNode c : r.path("columns")) {
            if (c.path("masked").asBoolean(false)) {
                masked.add(JSON.createObjectNode().put("name", c.path("name").asText(""))
                        .put("rule", c.path("rule").asText("")));
            }
        }
        ObjectNode unmapped = e.putObject("unmapped");
        unmapped.put("rows", r.path("rows").asLong());
        unmapped.set("masked_columns", masked);
        e.put("duration", r.path("duration_us").asLong() / 1000);
        e.put("message", r.path("command_tag").asText("") + ", " + masked.size() + " masked columns");
        return e;
    }

    private static final String[] DATASTORE_ACTIVITIES = {"Other", "Read", "Update", "Connect", "Query", "Write",
            "Create", "Delete"};

    /**
     * The most consequential statement kind decides: delete, create, write, update, then anything not a read, then
     * a read. A SIEM filters on the activity, so {@code SELECT 1; DROP TABLE t} must not be exported as a read.
     */
    private static int activityOf(JsonNode kinds) {
        int chosen = -1;
        for (JsonNode kind : kinds) {
            int activity = activityOf(kind.asText(""));
            if (chosen < 0 || CONSEQUENCE.indexOf(activity) < CONSEQUENCE.indexOf(chosen)) {
                chosen = activity;
            }
        }
        return chosen < 0 ? 99 : chosen;
    }

    /** Activities, most consequential first. */
    private static final List<Integer> CONSEQUENCE = List.of(7, 6, 5, 2, 99, 4);

    private static int activityOf(String kind) {
        return switch (kind) {
            case "SELECT", "SHOW", "FETCH", "EXPLAIN" -> 4;
            case "UPDATE", "MERGE", "ALTER" -> 2;
            case "INSERT", "COPY" -> 5;
            case "CREATE" -> 6;
            case "DELETE", "DROP", "TRUNCATE" -> 7;
            default -> 99;
        };
    }

    private void datastoreCommon(ObjectNode e, JsonNode r, JsonNode start, String environment, String username) {
        ObjectNode actor = e.putObject("actor");
        if (start != null) {
            actor.set("user", user(start.path("identity")));
        } else {
            actor.set("user", JSON.createObjectNode().put("name", username.isEmpty() ? "(unknown)" : username));
        }
        actor.putObject("session").put("uid", r.path("session").asText());
        e.set("src_endpoint", endpoint(start == null ? "" : start.path("client").path("address").asText(""),
                r.path("session").asText()));
        String env = environment.isEmpty() && start != null ? start.path("environment").asText("") : environment;
        e.putObject("database").put("name", env.isEmpty() ? "(unknown)" : env).put("type_id", 1)
                .put("type", "Relational");
        e.put("type_id", 1).put("type", "Database");
    }

    private static void queryInfo(ObjectNode e, JsonNode query) {
        ObjectNode info = e.putObject("query_info");
        info.put("query_string", query.path("statement").asText(""));
        info.put("uid", query.path("fingerprint").asText(""));
        String table = firstOf(query.path("tables_written"), firstOf(query.path("tables_read"), ""));
        if (!table.isEmpty()) {
            e.putObject("table").put("name", table);
            e.put("type_id", 3).put("type", "Table");
        }
    }

    private static String firstOf(JsonNode array, String otherwise) {
        return array.isArray() && !array.isEmpty() ? array.get(0).asText(otherwise) : otherwise;
    }

    private static void disposition(ObjectNode e, int dispositionId, String disposition, int actionId,
                                    String action) {
        e.put("disposition_id", dispositionId).put("disposition", disposition);
        e.put("action_id", actionId).put("action", action);
    }

    // ---- shared ----------------------------------------------------------------------------------------------

    private static ObjectNode base(JsonNode r, int classUid, int categoryUid, int activityId, String activityName) {
        ObjectNode e = JSON.createObjectNode();
        e.put("class_uid", classUid);
        e.put("class_name", switch (classUid) {
            case AUTHENTICATION -> "Authentication";
            case DATASTORE_ACTIVITY -> "Datastore Activity";
            default -> "Base Event";
        });
        e.put("category_uid", categoryUid);
        e.put("category_name", switch (categoryUid) {
            case 3 -> "Identity & Access Management";
            case 6 -> "Application Activity";
            default -> "Uncategorized";
        });
        e.put("activity_id", activityId);
        e.put("activity_name", activityName);
        e.put("type_uid", (long) classUid * 100 + activityId);
        e.put("severity_id", r.path("type").asText("").equals("auth.failure")
                || r.path("decision").asText("").equals("block") ? 3 : 1);
        e.put("time", Instant.parse(r.path("ts").asText()).toEpochMilli());
        ObjectNode metadata = e.putObject("metadata");
        metadata.put("version", OCSF_VERSION);
        metadata.put("uid", r.path("id").asText(""));
        metadata.put("sequence", r.path("seq").asLong());
        metadata.put("log_name", "warden-audit");
        metadata.put("event_code", r.path("type").asText(""));
        if (!r.path("session").asText("-").equals("-")) {
            metadata.put("correlation_uid", r.path("session").asText());
        }
        metadata.putObject("product").put("name", "Warden").put("vendor_name", "Warden");
        if (classUid == BASE_EVENT) {
            e.put("message", "warden " + r.path("type").asText(""));
        }
        return e;
    }

    private static ObjectNode user(JsonNode identity) {
        ObjectNode user = JSON.createObjectNode();
        user.put("name", identity.path("username").asText(""));
        user.put("uid", identity.path("subject").asText(""));
        boolean agent = identity.path("kind").asText("").equals("agent");
        user.put("type_id", agent ? 99 : 1).put("type", agent ? "Agent" : "User");
        ArrayNode groups = user.putArray("groups");
        for (JsonNode g : identity.path("groups")) {
            groups.addObject().put("name", g.asText());
        }
        return user;
    }

    private static ObjectNode unknownUser(String session) {
        return JSON.createObjectNode().put("name", "(unknown)").put("uid", session);
    }

    /**
     * A client address as the proxy records it: {@code 10.0.0.5:51234}, {@code /127.0.0.1:45602} (a Java socket
     * address), {@code host/10.0.0.5:51234}, {@code [::1]:5432}, or a bare address.
     */
    static ObjectNode endpoint(String address, String session) {
        ObjectNode endpoint = JSON.createObjectNode();
        String host = address.trim();
        int slash = host.indexOf('/');
        String hostname = slash > 0 ? host.substring(0, slash) : "";
        if (slash >= 0) {
            host = host.substring(slash + 1);
        }
        String port = "";
        if (host.startsWith("[") && host.contains("]")) {
            int close = host.indexOf(']');
            port = host.substring(close + 1).startsWith(":") ? host.substring(close + 2) : "";
            host = host.substring(1, close);
        } else if (host.indexOf(':') >= 0 && host.indexOf(':') == host.lastIndexOf(':')) {
            port = host.substring(host.indexOf(':') + 1);
            host = host.substring(0, host.indexOf(':'));
        }
        if (!host.isEmpty() && IP.matcher(host).matches()) {
            endpoint.put("ip", host);
        } else if (!host.isEmpty()) {
            endpoint.put("hostname", host);
        }
        if (!hostname.isEmpty()) {
            endpoint.put("hostname", hostname);
        }
        if (port.matches("\\d{1,5}") && Integer.parseInt(port) <= 65535) {
            endpoint.put("port", Integer.parseInt(port));
        }
        if (endpoint.isEmpty() || (endpoint.size() == 1 && endpoint.has("port"))) {
            endpoint.put("uid", session);
        }
        return endpoint;
    }
}
