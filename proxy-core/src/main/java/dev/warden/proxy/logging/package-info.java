/**
 * How Warden's log lines are written: {@code %safeMsg} keeps untrusted values (user names, application names,
 * statements, claims) from forging lines or breaking the {@code key=value} structure. Used by the shipped
 * {@code logback.xml}; a custom logging configuration should use {@code %safeMsg} instead of {@code %msg}.
 */
package dev.warden.proxy.logging;
