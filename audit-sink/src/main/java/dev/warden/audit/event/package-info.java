/**
 * Audit events as typed records ({@link dev.warden.audit.event.AuditEvent}) and their one byte form
 * ({@link dev.warden.audit.event.CanonicalJson}): sorted keys, no whitespace, integers only, UTF-8, times in
 * RFC 3339 UTC with microseconds. Events carry no {@code seq} or {@code prev}: the log assigns those.
 * {@link dev.warden.audit.event.CanonicalWriter} writes the same bytes without building a tree: each event
 * writes its fields in key order ({@code writeCanonical}), the writer merges the header in and leaves gaps for
 * {@code prev} and {@code seq} ({@link dev.warden.audit.event.RecordTemplate}); {@code writeFields} (the Jackson
 * tree that {@code CanonicalJson} sorts) stays the reference form, and a test holds the two byte-identical.
 * Limits: the events take text as given; redacting literals and deciding what is sensitive happen upstream.
 */
package dev.warden.audit.event;
