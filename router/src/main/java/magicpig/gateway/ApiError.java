package magicpig.gateway;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * An answer in OpenAI's error shape, {@code {"error": {"message", "type", "param", "code"}}}. Thrown
 * anywhere while a request is handled; the message is for the client, so it never holds a stack trace.
 */
final class ApiError extends RuntimeException {
    final StatusCode status;
    final String type, param, code;
    final List<HttpHeader> headers;

    private ApiError(StatusCode status, String message, String type, String param, String code, List<HttpHeader> headers) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.headers = headers;
    }

    static ApiError badRequest(String message, String param) {
        return new ApiError(StatusCodes.BAD_REQUEST, message, "invalid_request_error", param, null, List.of());
    }

    static ApiError badRequest(String message, String param, String code) {
        return new ApiError(StatusCodes.BAD_REQUEST, message, "invalid_request_error", param, code, List.of());
    }

    static ApiError unauthorized(String message) {
        return new ApiError(StatusCodes.UNAUTHORIZED, message, "invalid_request_error", null, "invalid_api_key",
                List.of(RawHeader.create("WWW-Authenticate", "Bearer")));
    }

    static ApiError notFound(String message, String param, String code) {
        return new ApiError(StatusCodes.NOT_FOUND, message, "invalid_request_error", param, code, List.of());
    }

    static ApiError methodNotAllowed(String message) {
        return new ApiError(StatusCodes.METHOD_NOT_ALLOWED, message, "invalid_request_error", null, null, List.of());
    }

    static ApiError tooLarge(long limit) {
        return new ApiError(StatusCodes.PAYLOAD_TOO_LARGE, "the request body is larger than the limit of " + limit + " bytes",
                "invalid_request_error", null, "request_too_large", List.of());
    }

    static ApiError overloaded(String message, long retryAfterSeconds) {
        return new ApiError(StatusCodes.TOO_MANY_REQUESTS, message, "rate_limit_error", null, "server_overloaded",
                List.of(RawHeader.create("Retry-After", Long.toString(retryAfterSeconds))));
    }

    static ApiError unavailable(String message) {
        return new ApiError(StatusCodes.SERVICE_UNAVAILABLE, message, "server_error", null, "not_ready", List.of());
    }

    static ApiError internal(String message) {
        return new ApiError(StatusCodes.INTERNAL_SERVER_ERROR, message, "server_error", null, null, List.of());
    }

    ObjectNode body() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", getMessage());
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        return root;
    }

    HttpResponse response() {
        List<HttpHeader> h = new ArrayList<>(headers);
        return Json.response(status, body()).addHeaders(h);
    }
}
