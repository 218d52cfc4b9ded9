/**
 * {@code warden demo}: Warden's whole job on one machine in one command, for a newcomer's first five minutes.
 * It starts a PostgreSQL from Maven jars (or uses {@code --upstream}), seeds a shop schema with fake personal
 * data, runs a development OIDC issuer on loopback, writes an example policy into the data directory, starts
 * Warden with it and prints ready-to-paste {@code psql} commands and a tour.
 *
 * <p>Limits, on purpose: the {@link dev.warden.proxy.demo.DevelopmentIssuer} exists only here. The policy
 * loader knows nothing about it; a policy merely trusts its loopback URL, and its signing key lives in memory
 * for one run, so a demo token never works against any other Warden. Nothing in this package is used by
 * {@code warden serve}.
 */
package dev.warden.proxy.demo;
