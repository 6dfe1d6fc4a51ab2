package magicpig.model.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors files of one checkpoint directory, opened together, with each tensor name
 * resolved to its file. Where the weights are, in order of preference: the shards a
 * {@code model.safetensors.index.json} names (its weight_map), a single {@code model.safetensors},
 * or every {@code *.safetensors} file in the directory.
 */
public final class SafetensorsShards implements AutoCloseable {
    public static final String INDEX = "model.safetensors.index.json";
    public static final String SINGLE = "model.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;

    private SafetensorsShards(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.dir = dir;
        this.files = files;
        this.byName = byName;
    }

    /** Opens the weights of a checkpoint directory; problems are IllegalArgumentExceptions naming the file. */
    public static SafetensorsShards open(Path dir) throws IOException {
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            Path index = dir.resolve(INDEX);
            if (Files.isRegularFile(index)) {
                readIndexed(dir, index, opened, byName);
            } else if (Files.isRegularFile(dir.resolve(SINGLE))) {
                SafetensorsFile f = SafetensorsFile.open(dir.resolve(SINGLE));
                opened.add(f);
                for (String name : f.names()) byName.put(name, f);
            } else {
                readAll(dir, opened, byName);
            }
            return new SafetensorsShards(dir, Collections.unmodifiableList(opened), byName);
        } catch (Throwable t) {
            closeAll(opened, t);
            throw t;
        }
    }

    private static void readIndexed(Path dir, Path index, List<SafetensorsFile> opened, Map<String, SafetensorsFile> byName)
            throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(index));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("safetensors index " + index + ": malformed JSON: " + e.getOriginalMessage());
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new IllegalArgumentException("safetensors index " + index + " has no weight_map object");
        }
        Map<String, SafetensorsFile> shards = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String tensor = e.getKey();
            String shard = e.getValue().asText("");
            if (!e.getValue().isTextual() || shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..")) {
                throw new IllegalArgumentException("safetensors index " + index + " maps '" + tensor + "' to " + e.getValue()
                        + ", not a file name in " + dir);
            }
            SafetensorsFile file = shards.get(shard);
            if (file == null) {
                Path path = dir.resolve(shard);
                if (!Files.isRegularFile(path)) {
                    throw new IllegalArgumentException("safetensors index " + index + " maps '" + tensor + "' to " + shard
                            + ", which does not exist in " + dir);
                }
                file = SafetensorsFile.open(path);
                opened.add(file);
                shards.put(shard, file);
            }
            if (!file.contains(tensor)) {
                throw new IllegalArgumentException("safetensors index " + index + " maps '" + tensor + "' to " + file.path()
                        + ", which holds no such tensor");
            }
            byName.put(tensor, file);
        }
    }

    private static void readAll(Path dir, List<SafetensorsFile> opened, Map<String, SafetensorsFile> byName) throws IOException {
        List<Path> paths = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.safetensors")) {
            for (Path p : stream) {
                if (Files.isRegularFile(p)) paths.add(p);
            }
        }
        if (paths.isEmpty()) {
            throw new IllegalArgumentException("no safetensors weights in " + dir + " (looked for " + INDEX + ", " + SINGLE
                    + " and *.safetensors)");
        }
        Collections.sort(paths);
        for (Path p : paths) {
            SafetensorsFile f = SafetensorsFile.open(p);
            opened.add(f);
            for (String name : f.names()) {
                SafetensorsFile before = byName.putIfAbsent(name, f);
                if (before != null) {
                    throw new IllegalArgumentException("tensor '" + name + "' appears in both " + before.path() + " and " + p);
                }
            }
        }
    }

    private static void closeAll(List<SafetensorsFile> files, Throwable cause) {
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (RuntimeException e) {
                cause.addSuppressed(e);
            }
        }
    }

    public Path dir() {
        return dir;
    }

    /** The files opened, in the order they were opened. */
    public List<Path> files() {
        return files.stream().map(SafetensorsFile::path).toList();
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The file holding a tensor; an error naming the directory when none does. */
    public SafetensorsFile fileOf(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) throw new IllegalArgumentException("no tensor '" + name + "' in the safetensors files of " + dir);
        return f;
    }

    /** A tensor (F32, F16 or BF16) from whichever file holds it. */
    public SafetensorsTensor tensor(String name) {
        return fileOf(name).tensor(name);
    }

    /** Unmaps every file. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
