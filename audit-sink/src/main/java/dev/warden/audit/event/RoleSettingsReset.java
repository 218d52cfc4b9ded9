package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;

/**
 * {@code role.settings_reset}: before an identity's login, Warden removed the login settings its per-identity role
 * had ({@code pg_db_role_setting}), which the server would have applied before Warden saw a statement. Someone
 * planted them (the identity through a policy that let it, or an administrator): the settings are kept as the
 * server stored them, values included, as evidence.
 *
 * @param role the identity's database role
 * @param settings the role's settings as found, {@code name=value} as the server stores them, by the database they
 *     apply in; {@code ""} (no database may have that name) for those that apply in every database
 * @param kept those still there after the reset, in the same form: settings only a superuser may reset, which
 *     Warden's login cannot remove (usually none)
 */
public record RoleSettingsReset(UUID id, Instant ts, String session, AuditIdentity identity, String environment,
                                String role, Map<String, List<String>> settings, Map<String, List<String>> kept)
        implements AuditEvent {

    public RoleSettingsReset {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        Objects.requireNonNull(identity, "identity");
        environment = Fields.required(environment, "environment");
        role = Fields.required(role, "role");
        settings = sorted(settings);
        kept = sorted(kept);
    }

    public static RoleSettingsReset of(String session, AuditIdentity identity, String environment, String role,
                                       Map<String, List<String>> settings, Map<String, List<String>> kept) {
        return new RoleSettingsReset(null, null, session, identity, environment, role, settings, kept);
    }

    /** Keys in the order the canonical form sorts them (a TreeMap's, as {@link CanonicalJson}'s). */
    private static Map<String, List<String>> sorted(Map<String, List<String>> byDatabase) {
        TreeMap<String, List<String>> out = new TreeMap<>();
        if (byDatabase != null) {
            byDatabase.forEach((database, values) -> out.put(database, Fields.list(values)));
        }
        return java.util.Collections.unmodifiableMap(out);
    }

    @Override
    public String type() {
        return "role.settings_reset";
    }

    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.string("environment", environment);
        identity.write(out.object("identity")).end();
        out.object("kept");
        kept.forEach(out::strings);
        out.end();
        out.string("role", role);
        out.object("settings");
        settings.forEach(out::strings);
        out.end();
    }

    @Override
    public void writeFields(ObjectNode record) {
        identity.write(record.putObject("identity"));
        record.put("environment", environment);
        record.put("role", role);
        ObjectNode found = record.putObject("settings");
        settings.forEach((database, values) -> Fields.strings(found, database, values));
        ObjectNode left = record.putObject("kept");
        kept.forEach((database, values) -> Fields.strings(left, database, values));
    }
}
