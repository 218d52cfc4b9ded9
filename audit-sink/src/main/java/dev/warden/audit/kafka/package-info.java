/**
 * Kafka plumbing shared by the Kafka sink and the Kafka witness: producer and consumer settings (idempotent,
 * {@code acks=all}, short timeouts) and a reader of a whole topic. Records carry the proxy's instance name in the
 * {@code warden.instance} header, so several proxies can share a topic and each chain is read back apart.
 * Limits: reading a topic reads all of it (fine for verification and for start-up, not for a hot path).
 */
package dev.warden.audit.kafka;
