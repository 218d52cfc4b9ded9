package dev.warden.proxy.logging;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.warden.audit.text.VisibleText;

/**
 * {@code %safeMsg}: the log message with every argument made safe, in one place rather than at each of the
 * hundreds of call sites. The message template is Warden's own and trusted; its {@code {}} arguments may hold
 * a startup user, an application name, a statement, a claim. Each argument is {@link VisibleText#escape
 * escaped} (so no newline or ESC can start a forged line), and written so the {@code key=value} structure stays
 * parseable: a value with a space, a quote or an {@code =} is double-quoted with {@code \"} inside, unless the
 * template already quotes it ({@code reason="{}"}), in which case only its quotes are escaped.
 */
public final class SafeMessageConverter extends ClassicConverter {

    @Override
    public String convert(ILoggingEvent event) {
        Object[] args = event.getArgumentArray();
        String template = event.getMessage();
        if (template == null) {
            return "";
        }
        if (args == null || args.length == 0) {
            return VisibleText.escape(template);
        }
        return format(template, args);
    }

    static String format(String template, Object[] args) {
        StringBuilder out = new StringBuilder(template.length() + 32 * args.length);
        int next = 0;
        int from = 0;
        while (true) {
            int at = template.indexOf("{}", from);
            if (at < 0 || next >= args.length || args[next] instanceof Throwable && next == args.length - 1) {
                out.append(VisibleText.escape(template.substring(from)));
                return out.toString();
            }
            out.append(VisibleText.escape(template.substring(from, at)));
            boolean quoted = at > 0 && template.charAt(at - 1) == '"';
            out.append(value(args[next++], quoted));
            from = at + 2;
        }
    }

    private static String value(Object arg, boolean alreadyQuoted) {
        String text = VisibleText.escape(arg instanceof Object[] array ? java.util.Arrays.deepToString(array)
                : String.valueOf(arg));
        if (alreadyQuoted) {
            return text.replace("\"", "\\\"");
        }
        if (text.isEmpty()) {
            return "\"\"";
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == ' ' || c == '"' || c == '=') {
                return '"' + text.replace("\"", "\\\"") + '"';
            }
        }
        return text;
    }
}
