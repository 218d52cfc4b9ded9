package dev.warden.proxy.privilege;

import java.util.List;
import java.util.Map;

/**
 * The login settings ({@code pg_db_role_setting}) an identity's role had when its login began, which Warden reset
 * before it: the session's audit trail records them ({@code role.settings_reset}).
 *
 * @param role the identity's role
 * @param settings {@code name=value} as the server stored them, by the database they applied in ({@code ""}: every
 *     database)
 * @param kept those the reset left (only a superuser may reset them), in the same form
 */
public record SettingsReset(String role, Map<String, List<String>> settings, Map<String, List<String>> kept) {

    public SettingsReset {
        settings = Map.copyOf(settings);
        kept = Map.copyOf(kept);
    }
}
