/**
 * The policy file: immutable records ({@link dev.warden.config.Policy} and its parts) and the
 * {@link dev.warden.config.PolicyLoader} that builds them from YAML.
 *
 * <p>Everything is validated once, at load; code past the loader trusts these values. Errors name the file,
 * line, column and dotted path of the offending node ({@link dev.warden.config.PolicyException}), and unknown
 * keys are errors, because a misspelt key must never silently switch a safeguard off. Secrets are read from
 * the environment or a file, never inline, and are wrapped in {@link dev.warden.config.Secret} so they do not
 * leak through {@code toString}. An environment's {@link dev.warden.config.RoleMapping} says which PostgreSQL
 * role each session runs as; its rules and the upstream user remember their {@code file:line:column: path}
 * ({@link dev.warden.config.RoleRule#origin()}), so checks made later against a live database can point at
 * the line to fix.
 *
 * <p>Limits: only the {@code listen}, {@code identity} and {@code environments} sections are modelled so far;
 * the other sections of the design sketch ({@code guardrails}, {@code masking}, {@code audit},
 * {@code approvals}, {@code admin}) are rejected with a clear error rather than ignored, so a policy never
 * looks protected when it is not. YAML anchors and merge keys are not supported. Live reload is the caller's
 * job: load again and compare {@link dev.warden.config.Policy#versionHash()}.
 */
package dev.warden.config;
