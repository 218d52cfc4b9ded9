/**
 * Audit events as typed records ({@link dev.warden.audit.event.AuditEvent}) and their one byte form
 * ({@link dev.warden.audit.event.CanonicalJson}): sorted keys, no whitespace, integers only, UTF-8, times in
 * RFC 3339 UTC with microseconds. Events carry no {@code seq} or {@code prev}: the log assigns those.
 * Limits: the events take text as given; redacting literals and deciding what is sensitive happen upstream.
 */
package dev.warden.audit.event;
