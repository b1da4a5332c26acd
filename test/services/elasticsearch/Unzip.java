// Unpack the Elasticsearch distribution zip for Kafki's test harness (test/services/elasticsearch.ts),
// with nothing but the JDK that runs Elasticsearch:  java Unzip.java <zip> <folder>
//
// Entries go to <folder>.partial first, which is renamed to <folder> when complete, so an
// interrupted unpack is never mistaken for a finished one. The zip's single top folder
// (elasticsearch-X.Y.Z/) is stripped: <folder> holds bin/, config/, lib/, modules/.

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

public class Unzip {
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: java Unzip.java <zip> <folder>");
            System.exit(2);
        }
        Path zip = Path.of(args[0]);
        Path target = Path.of(args[1]).toAbsolutePath().normalize();
        Path partial = target.resolveSibling(target.getFileName() + ".partial");
        deleteTree(partial);
        Files.createDirectories(partial);
        try (InputStream file = Files.newInputStream(zip); ZipInputStream in = new ZipInputStream(file)) {
            for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
                String name = entry.getName();
                int slash = name.indexOf('/');
                String relative = slash < 0 ? "" : name.substring(slash + 1);
                if (relative.isEmpty()) continue;
                Path out = partial.resolve(relative).normalize();
                if (!out.startsWith(partial)) throw new IOException("entry outside the target: " + name);
                if (entry.isDirectory()) {
                    Files.createDirectories(out);
                } else {
                    Files.createDirectories(out.getParent());
                    Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        deleteTree(target);
        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void deleteTree(Path path) throws IOException {
        if (!Files.exists(path)) return;
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
