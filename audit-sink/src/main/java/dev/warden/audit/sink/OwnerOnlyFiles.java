package dev.warden.audit.sink;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Files that hold statements, names and decisions (audit logs, approval requests): mode 0600 from creation
 * (not chmod'ed afterwards, which would leave a window), in directories Warden creates as 0700. On a file
 * system without POSIX permissions the platform default applies.
 */
public final class OwnerOnlyFiles {

    private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

    private OwnerOnlyFiles() {
    }

    /** Creates {@code dir} and missing parents as 0700; an existing directory is left as it is. */
    public static void createDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        if (POSIX) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } else {
            Files.createDirectories(dir);
        }
    }

    /** A new file, which must not exist yet, open for writing, mode 0600. */
    public static FileChannel create(Path file, StandardOpenOption... more) throws IOException {
        java.util.Set<StandardOpenOption> options = new java.util.HashSet<>(java.util.List.of(
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
        options.addAll(java.util.List.of(more));
        FileAttribute<?>[] attributes = POSIX
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
                : new FileAttribute<?>[0];
        return FileChannel.open(file, options, attributes);
    }
}
