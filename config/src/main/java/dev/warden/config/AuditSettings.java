package dev.warden.config;

/**
 * The {@code audit} section. Placeholder until the audit trail lands: the section is refused at load,
 * so no policy can believe it is audited while it is not.
 */
public record AuditSettings() {

    public static AuditSettings defaults() {
        return new AuditSettings();
    }
}
