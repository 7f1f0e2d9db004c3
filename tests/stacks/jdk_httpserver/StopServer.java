// OMS "Pausing a Migration Task Group" on the JDK's built-in HTTP server (com.sun.net.httpserver), no
// libraries: state in memory, a thread pool for the handlers.
//
// Run as: java -cp <classes> StopServer <port> (OMS_SEED from the environment).
// STACK_DEFAULTS (comma-separated) turns a careful choice back into the stack's default, for the tests:
// "decoded-path" (routes on URI.getPath(), percent-decoded: an id's %2F is a separator there).

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

public final class StopServer {
    private static final int MAX_ID = 1024;
    private static final int MAX_TOKEN = 16384;
    private static final int PAUSING = 7;

    private record Caller(String project, boolean mayUpdate) {}

    private record GroupKey(String project, String group) {}

    private static final class OmsError extends Exception {
        final int status;
        final String code;

        OmsError(int status, String code, String message) {
            super(message);
            this.status = status;
            this.code = code;
        }
    }

    private final Map<String, Caller> tokens = new ConcurrentHashMap<>();
    private final Map<GroupKey, Integer> groups = new ConcurrentHashMap<>();
    private final boolean decodedPath;

    StopServer(Path seed, boolean decodedPath) throws IOException {
        this.decodedPath = decodedPath;
        for (String line : Files.readAllLines(seed, StandardCharsets.UTF_8)) {
            String[] fields = line.split("\t");
            if (fields[0].equals("token")) {
                tokens.put(fields[1], new Caller(fields[2], fields[3].equals("1")));
            } else if (fields[0].equals("group")) {
                groups.put(new GroupKey(fields[1], fields[2]), Integer.parseInt(fields[3]));
            }
        }
    }

    private static OmsError invalidParameters() {
        return new OmsError(400, "OMS.0064", "Invalid request parameters.");
    }

    /** Percent-decodes a path segment as UTF-8, refusing malformed escapes and bytes. URLDecoder would not
     * do: it turns '+' into a space (form encoding) and malformed UTF-8 into U+FFFD. */
    static String decodeSegment(String raw) throws OmsError {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length()) throw invalidParameters();
                int hi = Character.digit(raw.charAt(i + 1), 16), lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) throw invalidParameters();
                bytes.write(hi * 16 + lo);
                i += 2;
            } else {
                bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw invalidParameters();
        }
    }

    /** Characters as the page counts them: code points, not UTF-16 units. */
    private static boolean validLength(String value, int max) {
        int n = value.codePointCount(0, value.length());
        return n >= 1 && n <= max;
    }

    void handle(HttpExchange exchange) throws IOException {
        try (exchange; InputStream body = exchange.getRequestBody()) {
            body.readAllBytes();
            try {
                stop(exchange);
                exchange.sendResponseHeaders(200, -1);
            } catch (OmsError e) {
                String json = "{\"error_code\":\"" + e.code + "\",\"error_msg\":\"" + e.getMessage() + "\"}";
                byte[] out = json.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                if (exchange.getRequestMethod().equals("HEAD")) {
                    exchange.sendResponseHeaders(e.status, -1); // a HEAD answer has no body
                    return;
                }
                exchange.sendResponseHeaders(e.status, out.length);
                try (OutputStream os = exchange.getResponseBody()) {
                    os.write(out);
                }
            }
        }
    }

    private void stop(HttpExchange exchange) throws OmsError {
        // The raw path: getPath() is percent-decoded, where an id's %2F would be a separator (a group id
        // "g%2Fstop" would route as the stop of g).
        String path = decodedPath ? exchange.getRequestURI().getPath() : exchange.getRequestURI().getRawPath();
        String[] parts = path.split("/", -1); // "", "v2", project, "taskgroups", group, "stop"
        if (parts.length != 6 || !parts[0].isEmpty() || !parts[1].equals("v2")
                || !parts[3].equals("taskgroups") || !parts[5].equals("stop")) {
            throw new OmsError(404, "OMS.0404", "Not found.");
        }
        if (!exchange.getRequestMethod().equals("PUT")) {
            exchange.getResponseHeaders().set("Allow", "PUT");
            throw new OmsError(405, "OMS.0405", "Method not allowed.");
        }
        String token = exchange.getRequestHeaders().getFirst("X-Auth-Token");
        if (token == null || token.isBlank() || !validLength(token, MAX_TOKEN)) throw invalidParameters();
        GroupKey key = decodedPath
                ? new GroupKey(parts[2], parts[4])
                : new GroupKey(decodeSegment(parts[2]), decodeSegment(parts[4]));
        if (!validLength(key.project(), MAX_ID) || !validLength(key.group(), MAX_ID)) throw invalidParameters();
        Caller caller = tokens.get(token);
        if (caller == null) throw new OmsError(403, "OMS.0003", "Authentication failed.");
        if (!caller.project().equals(key.project()) || !caller.mayUpdate()) {
            throw new OmsError(403, "OMS.0003", "Forbidden.");
        }
        Integer[] before = new Integer[1];
        // One atomic step per group: concurrent stops give exactly one 200.
        groups.computeIfPresent(key, (k, status) -> {
            before[0] = status;
            return status == 1 || status == 2 ? PAUSING : status;
        });
        if (before[0] == null) throw new OmsError(400, "OMS.1009", "No resources found.");
        if (before[0] != 1 && before[0] != 2) {
            throw new OmsError(400, "OMS.0066", "The task group is not running, no need to stop it.");
        }
    }

    public static void main(String[] args) throws IOException {
        boolean decodedPath = System.getenv().getOrDefault("STACK_DEFAULTS", "").contains("decoded-path");
        StopServer api = new StopServer(Path.of(System.getenv("OMS_SEED")), decodedPath);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])), 64);
        server.createContext("/", api::handle);
        server.setExecutor(Executors.newFixedThreadPool(16)); // the default runs every handler on one thread
        server.start();
    }
}
