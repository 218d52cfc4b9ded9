/**
 * OCSF 1.3 output for SIEMs ({@code format: ocsf} on the stdout and Kafka sinks, {@code warden audit export
 * --format ocsf}): Authentication (3002) for logins, logouts and failed logins, Datastore Activity (6005) for
 * statements and their results, Base Event (0) for everything else. Every event carries the chain's record in
 * {@code raw_data}, so the signed chain can be verified from the events alone.
 *
 * <p>Limits: one table per event (OCSF's {@code table} is a single object; the full lists stay in
 * {@code raw_data}); held-for-approval is disposition 99 "Held" (OCSF has no such value); masked columns are in
 * {@code unmapped.masked_columns} (OCSF has no attribute for them).
 */
package dev.warden.audit.ocsf;
