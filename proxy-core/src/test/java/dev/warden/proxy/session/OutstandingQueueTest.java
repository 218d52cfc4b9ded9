package dev.warden.proxy.session;

import dev.warden.proxy.session.OutstandingQueue.Answer;
import dev.warden.proxy.session.OutstandingQueue.Entry;
import dev.warden.proxy.session.OutstandingQueue.Kind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The queue of outstanding requests against scripted backend answers, message by message, as PostgreSQL
 * sends them (postgres.c): every answer is filed under the request it belongs to.
 */
class OutstandingQueueTest {

    private final OutstandingQueue queue = new OutstandingQueue();

    private Entry send(Kind kind) {
        Entry e = Entry.forward(kind);
        assertTrue(queue.sent(e), "the server reads " + kind);
        return e;
    }

    /** Feeds backend message types; returns the entry each was filed under. */
    private List<Entry> answer(String types) {
        List<Entry> owners = new ArrayList<>();
        for (char t : types.toCharArray()) {
            owners.add(queue.answered((byte) t).owner());
        }
        return owners;
    }

    @Test
    void pipelinedExtendedBatchesAreAnsweredInOrder() {
        List<Entry> sent = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            sent.add(send(Kind.PARSE));
            sent.add(send(Kind.BIND));
            sent.add(send(Kind.DESCRIBE_PORTAL));
            sent.add(send(Kind.EXECUTE));
            sent.add(send(Kind.SYNC));
        }
        List<Entry> owners = answer("12TDDCZ".repeat(50));
        for (int i = 0; i < 50; i++) {
            List<Entry> batch = owners.subList(i * 7, i * 7 + 7);
            assertSame(sent.get(i * 5), batch.get(0));
            assertSame(sent.get(i * 5 + 1), batch.get(1));
            assertSame(sent.get(i * 5 + 2), batch.get(2));
            assertSame(sent.get(i * 5 + 3), batch.get(3), "DataRow of batch " + i);
            assertSame(sent.get(i * 5 + 3), batch.get(5), "CommandComplete of batch " + i);
            assertSame(sent.get(i * 5 + 4), batch.get(6), "ReadyForQuery of batch " + i);
        }
        assertTrue(queue.isEmpty());
    }

    @Test
    void anErrorMidBatchSkipsToSyncAndTheNextBatchRuns() {
        send(Kind.PARSE);
        send(Kind.BIND);
        Entry failing = send(Kind.EXECUTE);
        Entry skippedParse = send(Kind.PARSE);
        Entry skippedExecute = send(Kind.EXECUTE);
        Entry sync = send(Kind.SYNC);
        Entry next = send(Kind.QUERY);
        answer("12D");
        Answer error = queue.answered((byte) 'E');
        assertSame(failing, error.owner());
        assertTrue(error.completed());
        assertEquals(List.of(skippedParse, skippedExecute), error.dropped());
        assertSame(sync, queue.answered((byte) 'Z').owner());
        assertEquals(List.of(next, next, next, next), answer("TDCZ"));
        assertTrue(queue.isEmpty());
    }

    @Test
    void afterAnErrorQueryAndFunctionCallBeforeSyncAreIgnoredAsTheServerDoes() {
        Entry parse = send(Kind.PARSE);
        assertSame(parse, queue.answered((byte) 'E').owner());
        assertTrue(queue.serverSkipsUntilSync());
        assertFalse(queue.sent(Entry.forward(Kind.QUERY)), "postgres.c ignores a Query until Sync");
        assertFalse(queue.sent(Entry.forward(Kind.FUNCTION_CALL)));
        assertFalse(queue.sent(Entry.forward(Kind.BIND)));
        Entry sync = send(Kind.SYNC);
        assertFalse(queue.serverSkipsUntilSync());
        Entry query = send(Kind.QUERY);
        assertEquals(List.of(sync, query, query), answer("ZCZ"));
        assertTrue(queue.isEmpty());
    }

    @Test
    void anErrorInASimpleQueryDoesNotSkip() {
        Entry query = send(Kind.QUERY);
        Entry parse = send(Kind.PARSE);
        Answer error = queue.answered((byte) 'E');
        assertSame(query, error.owner());
        assertFalse(error.completed());
        assertFalse(queue.serverSkipsUntilSync());
        assertEquals(List.of(query, parse), answer("Z1"));
    }

    @Test
    void flushWithoutSyncGetsAnswersUpToThePointReached() {
        Entry parse = send(Kind.PARSE);
        Entry bind = send(Kind.BIND);
        Entry execute = send(Kind.EXECUTE);
        // Flush adds no entry: it expects no answer of its own.
        assertEquals(List.of(parse, bind, execute, execute), answer("12DC"));
        assertTrue(queue.isEmpty(), "everything before the Flush is answered");
        Entry sync = send(Kind.SYNC);
        assertEquals(List.of(sync), answer("Z"));
    }

    @Test
    void describeOfTheUnnamedStatementEndsWithItsRowDescriptionOrNoData() {
        Entry rows = send(Kind.DESCRIBE_STATEMENT);
        Entry none = send(Kind.DESCRIBE_STATEMENT);
        Entry portal = send(Kind.DESCRIBE_PORTAL);
        assertEquals(List.of(rows, rows, none, none, portal), answer("tTtnn"));
        assertTrue(queue.isEmpty());
    }

    @Test
    void copyOutInsideAPipelineBelongsToItsExecute() {
        Entry copy = send(Kind.EXECUTE);
        Entry after = send(Kind.EXECUTE);
        Entry sync = send(Kind.SYNC);
        assertEquals(List.of(copy, copy, copy, copy, copy, after, after, sync), answer("HddcCDCZ"));
    }

    @Test
    void copyInIgnoresTheSyncSentBeforeItsData() {
        // libpq: Parse, Bind, Execute, Sync; then, on CopyInResponse, CopyData, CopyDone and a second Sync.
        send(Kind.PARSE);
        send(Kind.BIND);
        Entry copy = send(Kind.EXECUTE);
        send(Kind.SYNC);
        answer("12");
        assertSame(copy, queue.answered((byte) 'G').owner());
        assertEquals(1, queue.size(), "the server ignores a Sync in COPY FROM STDIN");
        assertTrue(queue.copyInOpen());
        queue.copyDataSent((byte) 'd');
        assertTrue(queue.copyInOpen());
        queue.copyDataSent((byte) 'c');
        assertFalse(queue.copyInOpen());
        Entry sync = send(Kind.SYNC);
        assertEquals(List.of(copy, sync), answer("CZ"));
        assertTrue(queue.isEmpty());
    }

    @Test
    void copyInKeepsASyncSentAfterItsCopyDone() {
        Entry copy = send(Kind.EXECUTE);
        queue.copyDataSent((byte) 'd');
        queue.copyDataSent((byte) 'c');
        Entry sync = send(Kind.SYNC);
        assertEquals(List.of(copy, copy, sync), answer("GCZ"));
        assertFalse(queue.copyInOpen());
    }

    @Test
    void copyInIgnoresEverySyncBeforeItsCopyDoneOrCopyFail() {
        // Pipelined before the CopyInResponse came: Sync, CopyData, Sync, CopyData, CopyFail, Sync. The server
        // ignores the first two Syncs (an attacker's pass left them waiting for a ReadyForQuery never sent).
        Entry copy = send(Kind.EXECUTE);
        send(Kind.SYNC);
        queue.copyDataSent((byte) 'd');
        send(Kind.SYNC);
        queue.copyDataSent((byte) 'd');
        queue.copyDataSent((byte) 'f');
        Entry sync = send(Kind.SYNC);
        assertEquals(List.of(copy, copy), answer("GE"));
        assertEquals(List.of(sync), answer("Z"));
        assertTrue(queue.isEmpty());
    }

    @Test
    void copyInOfASimpleQuery() {
        Entry query = send(Kind.QUERY);
        queue.copyDataSent((byte) 'c');
        Entry next = send(Kind.QUERY);
        assertEquals(List.of(query, query, query, next, next), answer("GCZIZ"));
    }

    @Test
    void eachCopyOfAQueryIgnoresTheSyncsBeforeItsOwnCopyDone() {
        // COPY a FROM STDIN; COPY b FROM STDIN: the second reads the messages after the first's CopyDone.
        Entry query = send(Kind.QUERY);
        assertEquals(List.of(query), answer("G"));
        assertTrue(queue.copyInOpen());
        queue.copyDataSent((byte) 'c');
        send(Kind.SYNC); // sent before the second CopyInResponse came: read by the second COPY
        assertEquals(List.of(query, query), answer("CG"));
        assertEquals(1, queue.size());
        assertTrue(queue.copyInOpen());
        queue.copyDataSent((byte) 'c');
        Entry sync = send(Kind.SYNC);
        assertEquals(List.of(query, query, sync), answer("CZZ"));
    }

    @Test
    void aCopyThatFailsBeforeItStartsLeavesItsSyncsToTheServer() {
        Entry copy = send(Kind.EXECUTE);
        Entry first = send(Kind.SYNC);
        queue.copyDataSent((byte) 'd');
        queue.copyDataSent((byte) 'c');
        Entry second = send(Kind.SYNC);
        assertEquals(List.of(copy, first, second), answer("EZZ"));
        assertFalse(queue.copyInOpen());
    }

    private Entry running(Kind kind, String sql) {
        Execution e = new Execution(1, kind == Kind.EXECUTE, new dev.warden.sql.Analyzer(10).analyze(sql), null, null);
        Entry entry = Entry.forward(kind, null, null, e);
        assertTrue(queue.sent(entry));
        return entry;
    }

    @Test
    void aSyncWaitsWhileARequestMayStillStartACopyFromStdin() {
        // Whether the server reads a Sync inside the COPY (ignored) or after it (answered) only its answer tells.
        Entry select = running(Kind.EXECUTE, "SELECT 1");
        assertNull(queue.copyMayStart(), "no COPY FROM STDIN outstanding");
        Entry copy = running(Kind.EXECUTE, "COPY t FROM STDIN");
        java.util.concurrent.CompletableFuture<Void> watch = queue.copyMayStart();
        assertTrue(watch != null && !watch.isDone());
        assertEquals(List.of(select), answer("C"));
        assertTrue(watch.isDone(), "a completion: asked again");
        watch = queue.copyMayStart();
        assertEquals(List.of(copy), answer("G"));
        assertTrue(watch.isDone());
        assertTrue(queue.copyInOpen(), "the Sync goes nowhere");
        assertNull(queue.copyMayStart(), "the one COPY it may start has started");
        queue.copyDataSent((byte) 'd');
        assertEquals(List.of(copy), answer("E"));
        assertFalse(queue.copyInOpen(), "the error ended the COPY: a Sync now is a request");
        Entry sync = send(Kind.SYNC);
        assertEquals(List.of(sync), answer("Z"));
        Entry query = running(Kind.QUERY, "COPY a FROM STDIN; COPY b FROM STDIN");
        assertEquals(List.of(query), answer("G"));
        queue.copyDataSent((byte) 'c');
        assertFalse(queue.copyInOpen());
        assertTrue(queue.copyMayStart() != null, "the second COPY may read it");
        assertEquals(List.of(query, query), answer("CG"));
        assertTrue(queue.copyInOpen());
        queue.copyDataSent((byte) 'f');
        assertFalse(queue.copyInOpen());
        assertEquals(List.of(query, query), answer("EZ"));
        assertNull(queue.copyMayStart());
    }

    @Test
    void aTentativeSyncDroppedAfterAGoodCopyKeepsItsCopyDoneCounted() {
        // Two COPYs in one Query; a Sync among the first one's data, then its CopyDone, all sent before the first
        // CopyInResponse came: the second COPY reads from after that CopyDone, so a Sync after it is a request
        // unless sent before the second CopyDone (a fourth helper's reading of the removal of tentative Syncs).
        Entry query = running(Kind.QUERY, "COPY a FROM STDIN; COPY b FROM STDIN");
        queue.copyDataSent((byte) 'd');
        send(Kind.SYNC);
        queue.copyDataSent((byte) 'c');
        queue.copyDataSent((byte) 'd');
        queue.copyDataSent((byte) 'c'); // the second COPY's data and CopyDone, pipelined too
        assertEquals(List.of(query), answer("G"));
        assertFalse(queue.copyInOpen(), "its CopyDone was sent already");
        assertEquals(List.of(query, query), answer("CG"));
        assertFalse(queue.copyInOpen(), "the second COPY's CopyDone was sent already: a Sync now is a request");
        Entry sync = send(Kind.SYNC);
        assertEquals(List.of(query, query, sync), answer("CZZ"));
    }

    @Test
    void noticeNotificationAndParameterStatusArriveAnywhereAndCompleteNothing() {
        Entry parse = send(Kind.PARSE);
        Entry execute = send(Kind.EXECUTE);
        Entry sync = send(Kind.SYNC);
        List<Entry> owners = answer("NA1SNDASCNSZA");
        assertEquals(java.util.Arrays.asList(null, null, parse, null, null, execute, null, null, execute, null, null,
                sync, null), owners);
        assertTrue(queue.isEmpty());
        assertNull(queue.answered((byte) 'N').owner(), "with nothing outstanding too");
    }

    @Test
    void aFunctionCallEndsWithReadyForQuery() {
        Entry call = send(Kind.FUNCTION_CALL);
        assertEquals(List.of(call, call), answer("VZ"));
        Entry failed = send(Kind.FUNCTION_CALL);
        Answer error = queue.answered((byte) 'E');
        assertFalse(error.completed());
        assertFalse(queue.serverSkipsUntilSync(), "a FunctionCall error does not start a skip to Sync");
        assertEquals(List.of(failed), answer("Z"));
    }

    @Test
    void warDensOwnDescribeIsSkippedAndItsPortalKept() {
        PreparedStatements.Portal portal = new PreparedStatements.Portal("", null, List.of(), List.of());
        send(Kind.BIND);
        assertTrue(queue.sent(Entry.skip(portal)));
        Entry execute = send(Kind.EXECUTE);
        Answer describe = queue.answered((byte) '2');
        assertEquals(Kind.BIND, describe.owner().kind);
        Entry own = queue.answered((byte) 'T').owner();
        assertEquals(OutstandingQueue.Action.SKIP, own.action);
        assertSame(portal, own.portal);
        assertEquals(List.of(execute, execute), answer("DC"));
    }
}
