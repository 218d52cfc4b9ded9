/** Benchmarks: JMH micro-benchmarks and the end-to-end pgbench comparison. */
package dev.warden.bench;
