/**
 * Where records go. {@link dev.warden.audit.sink.FileSink}: JSON lines, size and time rotation, one fsync per
 * batch, never reopens a file. {@link dev.warden.audit.sink.PostgresSink}: an append-only table guarded by
 * triggers, one transaction per batch. {@link dev.warden.audit.sink.KafkaSink}: a topic shared by several
 * proxies, idempotent producer, {@code acks=all}, keyed by session, acknowledged before the statement is relayed.
 * {@link dev.warden.audit.sink.StdoutSink}: best effort. Kafka and stdout can write OCSF events instead of the
 * records ({@code format: ocsf}); the record stays inside each event.
 * Limits: sinks do not back-fill; records written while a secondary sink was failing are missing from it
 * (visible as a gap in {@code seq}); the primary (first file sink) always holds the whole chain.
 */
package dev.warden.audit.sink;
