package dev.warden.proxy.upstream;

/** Why a session may not log in to its environment's upstream at all, with the SQLSTATE the client gets. */
public record LoginRefusal(String sqlState, String message) {
}
