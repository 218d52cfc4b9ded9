package dev.warden.masking;

import dev.warden.config.MaskingSettings.MaskingRule;
import dev.warden.config.MaskingSettings;
import dev.warden.config.Secret;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Builders shared by the masking tests. */
final class Fixtures {

    static final MaskContext ALICE = new MaskContext("alice@acme.com", Set.of("eng"), false, "prod", Set.of());

    private Fixtures() {
    }

    static MaskingSettings settings(MaskingRule... rules) {
        return new MaskingSettings(true, true, Set.of(), Secret.of("fixture-key-0123456789"), List.of(rules),
                MaskingSettings.Exemption.NOBODY);
    }

    static MaskingRule rule(MaskingRule.Target target, MaskingRule.Strategy strategy) {
        return new MaskingRule(target, strategy, 4, strategy == MaskingRule.Strategy.FIXED
                ? Optional.of("n/a") : Optional.empty());
    }

    static ResultColumn col(String table, String column, int oid) {
        return ResultColumn.fromTable("public", table, column, column, oid, -1, (short) 0);
    }

    static ResultColumn bin(String table, String column, int oid) {
        return ResultColumn.fromTable("public", table, column, column, oid, -1, (short) 1);
    }

    /** A DataRow message; a null field is SQL NULL. */
    static ByteBuf dataRow(byte[]... fields) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte('D').writeInt(0).writeShort(fields.length);
        for (byte[] f : fields) {
            if (f == null) {
                b.writeInt(-1);
            } else {
                b.writeInt(f.length).writeBytes(f);
            }
        }
        b.setInt(1, b.writerIndex() - 1);
        return b;
    }

    static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    /** The fields of a DataRow message, as strings (null for NULL). */
    static List<String> fields(ByteBuf row) {
        List<String> out = new ArrayList<>();
        int p = row.readerIndex();
        if (row.getByte(p) != 'D' || row.getInt(p + 1) != row.readableBytes() - 1) {
            throw new AssertionError("bad DataRow framing");
        }
        int n = row.getShort(p + 5);
        p += 7;
        for (int i = 0; i < n; i++) {
            int len = row.getInt(p);
            p += 4;
            out.add(len < 0 ? null : row.toString(p, len, StandardCharsets.UTF_8));
            p += Math.max(len, 0);
        }
        return out;
    }
}
