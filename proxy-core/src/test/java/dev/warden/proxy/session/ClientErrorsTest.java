package dev.warden.proxy.session;

import dev.warden.pg.SqlState;
import dev.warden.pg.message.BackendMessage;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a client is told when its session ends on a failure of Warden's own. End to end, the relay's tasks now
 * catch a {@link StackOverflowError} as they catch a runtime exception (a138 F8: one raised in a task left the
 * client waiting for good), and the client reads this answer.
 */
class ClientErrorsTest {

    @Test
    void aStackOverflowIsAnsweredAsAStatementTooComplex() {
        BackendMessage.ErrorResponse e = ClientErrors.fatal(new CompletionException(new StackOverflowError()));
        assertEquals(SqlState.STATEMENT_TOO_COMPLEX, e.sqlState());
        assertEquals("FATAL", e.fields().get('S'));
        assertTrue(e.message().contains("too complex"), e.message());
    }

    @Test
    void anOtherFailureIsAnInternalErrorThatNamesOnlyItsClass() {
        BackendMessage.ErrorResponse e = ClientErrors.fatal(new IllegalStateException("secret 123-45-6789"));
        assertEquals(SqlState.INTERNAL_ERROR, e.sqlState());
        assertTrue(e.message().contains("IllegalStateException"), e.message());
        assertFalse(e.message().contains("123-45-6789"), e.message());
    }
}
