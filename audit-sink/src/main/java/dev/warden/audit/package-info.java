/** The audit trail: typed events, canonical JSON, hash chain and signatures, sinks. */
package dev.warden.audit;
