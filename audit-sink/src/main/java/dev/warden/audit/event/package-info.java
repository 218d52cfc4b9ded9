/**
 * Audit events as typed records ({@link dev.warden.audit.event.AuditEvent}) and their one byte form
 * ({@link dev.warden.audit.event.CanonicalJson}): sorted keys, no whitespace, integers only, UTF-8, times in
 * RFC 3339 UTC with microseconds. Events carry no {@code seq} or {@code prev}: the log assigns those.
 * {@link dev.warden.audit.event.CanonicalWriter} writes the same bytes without building a tree: each event
 * writes its fields in key order ({@code writeCanonical}), the writer merges the header in and leaves gaps for
 * {@code prev} and {@code seq} at their final width ({@link dev.warden.audit.event.RecordTemplate}), so linking
 * writes into the record's one array; {@code writeFields} (the Jackson tree that {@code CanonicalJson} sorts)
 * stays the reference form, and two tests hold the two byte-identical (every event type with awkward texts;
 * random events from a printed seed).
 * Values a session repeats by identity (its username, a statement shape's fact lists, a result shape's columns)
 * are kept per thread with their bytes ({@code EncodedValues}, 512 slots, values up to 1 KiB encoded), which pins
 * at most that many recent values; only immutable values may be written as {@code stable}.
 * Limits: the events take text as given; redacting literals and deciding what is sensitive happen upstream.
 */
package dev.warden.audit.event;
