/**
 * The v3 message model: one record per message, nested in the sealed interfaces {@link
 * dev.warden.pg.message.StartupPacket}, {@link dev.warden.pg.message.FrontendMessage} and {@link
 * dev.warden.pg.message.BackendMessage}, each with its encoding beside it and one {@code decode} per
 * direction. Decoding copies what it reads and never moves the frame's readerIndex, so the proxy can
 * inspect a frame and still relay its original bytes. Protocol 3.0 only (no 3.2 long cancel keys).
 */
package dev.warden.pg.message;
