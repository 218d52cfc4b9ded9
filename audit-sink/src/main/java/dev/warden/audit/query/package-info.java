/**
 * Reading the trail for the security team: {@link dev.warden.audit.query.AuditReader} searches, tails and
 * follows a log directory with {@link dev.warden.audit.query.AuditFilter}s, renders one readable line per record,
 * and sums usage per identity ({@link dev.warden.audit.query.UsageReport}). Plain methods returning data and
 * strings; the CLI prints them. Limits: reading trusts the files (run verify for proof), loads one file at a
 * time into memory, and follows by polling.
 */
package dev.warden.audit.query;
