package dev.warden.proxy.session;

import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.sql.Analysis;

import java.util.ArrayList;
import java.util.List;

/**
 * The session's {@code search_path} as its server resolves it ({@code current_schemas(true)}), read on the
 * session's own connection (see {@link OwnRequests#readSearchPath}) when a statement names a relation that could
 * be in more than one schema, and current only until the session runs another statement (any statement may
 * change it: SET, set_config, a function, a ROLLBACK). While not current, masking counts every candidate.
 * Event loop only.
 */
final class SessionSearchPath {

    private List<String> schemas;
    private boolean current;

    /** The schemas, or null when not read since the last statement that ran. */
    List<String> schemas() {
        return current ? schemas : null;
    }

    /** A statement of the client's went upstream: it may have changed the search_path. */
    void statementSent() {
        current = false;
    }

    boolean worthReading(CatalogCache catalog, Analysis analysis) {
        return !current && catalog != null && catalog.dependsOnSearchPath(analysis);
    }

    /** What {@code current_schemas(true)} returned (a text array), or null when it could not be read. */
    void read(String arrayText) {
        schemas = arrayText == null ? null : parseArray(arrayText);
        current = schemas != null;
    }

    /** A one-dimensional text array in PostgreSQL's output syntax: {@code {a,"b c","d\"e"}}. */
    static List<String> parseArray(String text) {
        if (text.length() < 2 || text.charAt(0) != '{' || text.charAt(text.length() - 1) != '}') {
            return null;
        }
        List<String> out = new ArrayList<>();
        int i = 1;
        int end = text.length() - 1;
        while (i < end) {
            StringBuilder element = new StringBuilder();
            if (text.charAt(i) == '"') {
                i++;
                while (i < end && text.charAt(i) != '"') {
                    if (text.charAt(i) == '\\' && i + 1 < end) {
                        i++;
                    }
                    element.append(text.charAt(i++));
                }
                i++;
            } else {
                while (i < end && text.charAt(i) != ',') {
                    element.append(text.charAt(i++));
                }
            }
            out.add(element.toString());
            if (i < end && text.charAt(i) == ',') {
                i++;
            }
        }
        return out;
    }
}
