"""The tell-tale answers of common HTTP stacks and fronts: which layer made an answer, and the setting that
made it - data for checks/machinery/layers.py, one entry per answer, each citing the stack's code or docs.

An entry matches when every condition it gives holds (the statuses, a pattern of the ``Server`` header, of the
body's first bytes, the content type, a header only that layer sets); ``identify`` takes the entry with the
most conditions. No entry names a layer by its status alone: a proxy is named only where its own header or
page is in the answer. The bodies quoted were captured from the real stacks where this machine runs them
(tests/unit/stack_answers.json, by tests/stacks/capture_answers.py); the others are quoted from the source.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tell:
    layer: str  # the stack, as a user knows it
    kind: str  # "application framework", "HTTP server", "proxy", "API gateway"
    means: str  # what the answer is
    setting: str  # what to change, named as the stack's documentation names it
    source: str  # where the stack says so (its code or docs)
    statuses: tuple[int, ...] = ()  # empty: any status
    server: str = ""  # a regex the Server header matches (case-insensitive)
    body: str = ""  # a regex the body's first bytes match
    content_type: str = ""  # the media type's start (text/plain, text/html, application/json)
    header: str = ""  # a header only this layer sets (lower case)

    @property
    def conditions(self) -> int:
        return sum(bool(c) for c in (self.statuses, self.server, self.body, self.content_type, self.header))


PROXY, GATEWAY, SERVER, FRAMEWORK = "proxy", "API gateway", "HTTP server", "application framework"

TELLS: tuple[Tell, ...] = (
    # -- Starlette / FastAPI -----------------------------------------------------------------------------
    Tell(
        "FastAPI (Starlette)",
        FRAMEWORK,
        "the router found no route: Starlette matches routes on the percent-decoded path, so an id holding "
        "%2F or an empty id never reaches the handler",
        "route the ids with a `{name:path}` convertor and check them in the handler, or route on "
        "scope['raw_path']",
        # fastapi/exception_handlers.py http_exception_handler; starlette/routing.py Router.not_found
        "fastapi/exception_handlers.py (http_exception_handler), starlette/routing.py (Router.not_found)",
        statuses=(404,),
        body=r'^\{"detail":"Not Found"\}',
        content_type="application/json",
    ),
    Tell(
        "FastAPI (Starlette)",
        FRAMEWORK,
        "FastAPI's own 405: the route exists for other methods only",
        "answer other methods in your own handler (the contract's envelope) or add an exception handler",
        "fastapi/exception_handlers.py (http_exception_handler), starlette/routing.py (Route.handle)",
        statuses=(405,),
        body=r'^\{"detail":"Method Not Allowed"\}',
    ),
    Tell(
        "FastAPI",
        FRAMEWORK,
        "FastAPI's request validation (422 with a list of errors) refused the request before the handler",
        "add an exception handler for RequestValidationError that answers 400 with the contract's envelope",
        "fastapi/exception_handlers.py (request_validation_exception_handler)",
        statuses=(422,),
        body=r'^\{"detail":\[',
    ),
    Tell(
        "Starlette",
        FRAMEWORK,
        "Starlette's plain-text 404: the router found no route for the percent-decoded path",
        "route on scope['raw_path'], or use a `{name:path}` convertor and check the id yourself",
        "starlette/routing.py (Router.not_found: PlainTextResponse('Not Found', 404))",
        statuses=(404,),
        body=r"^Not Found$",
        content_type="text/plain",
    ),
    Tell(
        "Starlette",
        FRAMEWORK,
        "Starlette's redirect to the path with (or without) a trailing slash",
        "Router(redirect_slashes=False) (FastAPI(redirect_slashes=False))",
        "starlette/routing.py (Router.__init__ redirect_slashes=True; Router.app's RedirectResponse)",
        statuses=(307,),
        server=r"uvicorn",
    ),
    # -- uvicorn (h11 / httptools) -----------------------------------------------------------------------
    Tell(
        "uvicorn",
        SERVER,
        "uvicorn's HTTP parser refused the request before the application saw it; with h11 an incomplete "
        "request head of more than 16 KiB (a long token arriving in several segments) is refused so",
        "uvicorn --h11-max-incomplete-event-size (Config(h11_max_incomplete_event_size=...)), e.g. 65536",
        "uvicorn/protocols/http/h11_impl.py and httptools_impl.py ('Invalid HTTP request received.')",
        statuses=(400,),
        body=r"^Invalid HTTP request received\.",
        content_type="text/plain",
    ),
    # -- Werkzeug / Flask --------------------------------------------------------------------------------
    Tell(
        "Flask (Werkzeug)",
        FRAMEWORK,
        "Werkzeug's HTML error page: its URL map matched no rule for the percent-decoded PATH_INFO (the "
        "default converter matches no '/' and no empty id), or the rule has no such method",
        "route with a `<path:name>` converter and check the id yourself, and register error handlers that "
        "answer the contract's JSON envelope",
        "werkzeug/exceptions.py (HTTPException.get_body: '<!doctype html>' ... '<title>')",
        body=r"^<!doctype html>\s*<html lang=en>\s*<title>\d{3} ",
        content_type="text/html",
    ),
    Tell(
        "Flask (Werkzeug)",
        FRAMEWORK,
        "Werkzeug's redirect: its URL map merges repeated slashes or adds a trailing slash (308)",
        "Map(merge_slashes=False) and strict_slashes=False on the rule",
        "werkzeug/routing/map.py (Map merge_slashes=True, RequestRedirect 308)",
        statuses=(308,),
        body=r"Redirecting",
    ),
    # -- gunicorn -----------------------------------------------------------------------------------------
    Tell(
        "gunicorn",
        SERVER,
        "gunicorn refused the request line as too long before the application saw it (4,094 bytes by "
        "default; a maximum-length id of multi-byte characters is up to 12 KiB percent-encoded)",
        "gunicorn --limit-request-line (limit_request_line), e.g. 32768",
        "gunicorn/workers/base.py (handle_error: LimitRequestLine -> 414), gunicorn/util.py (write_error)",
        statuses=(414, 400),
        body=r"<h1><p>(URI Too Long|Bad Request)</p></h1>\s*(Request Line is too large|.*line)",
    ),
    Tell(
        "gunicorn",
        SERVER,
        "gunicorn refused a header field as too long before the application saw it (8,190 bytes by default)",
        "gunicorn --limit-request-field_size (limit_request_field_size), e.g. 32768",
        "gunicorn/workers/base.py (handle_error: LimitRequestHeaders -> 431), gunicorn/util.py (write_error)",
        statuses=(431, 400),
        body=r"<h1><p>(Request Header Fields Too Large|Bad Request)</p></h1>",
    ),
    # -- aiohttp ------------------------------------------------------------------------------------------
    Tell(
        "aiohttp",
        SERVER,
        "aiohttp's HTTP parser refused a line longer than its limit (8,190 bytes by default) before the "
        "handler; its message repeats the first 100 characters of the line",
        "web.run_app(..., handler_args={'max_line_size': ..., 'max_field_size': ...}) or "
        "AppRunner(app, max_line_size=..., max_field_size=...)",
        "aiohttp/http_exceptions.py (LineTooLong: 'Got more than %s bytes (%s) when reading %s.'), "
        "aiohttp/web_protocol.py (handle_error: text/plain); captured from aiohttp 3.14",
        statuses=(400,),
        server=r"aiohttp",
        body=r"^(400: )?Got more than \d+ bytes",
        content_type="text/plain",
    ),
    Tell(
        "aiohttp",
        FRAMEWORK,
        "aiohttp's own plain-text answer: its router matched no route (or no method)",
        "add the route, or a middleware that answers the contract's envelope for HTTPNotFound",
        "aiohttp/web_exceptions.py (HTTPException text '<status>: <reason>')",
        statuses=(404, 405),
        body=r"^40[45]: (Not Found|Method Not Allowed)",
        content_type="text/plain",
    ),
    # -- Express / Node ----------------------------------------------------------------------------------
    Tell(
        "Express",
        FRAMEWORK,
        "Express's default 404 page: no route matched the request",
        "add a final handler that answers the contract's envelope (app.use((req, res) => ...))",
        "finalhandler (Express's default handler: 'Cannot <METHOD> <path>' in a <pre>)",
        statuses=(404,),
        body=r"<pre>Cannot [A-Z]+ /",
    ),
    # -- Go net/http --------------------------------------------------------------------------------------
    Tell(
        "Go net/http",
        FRAMEWORK,
        "Go's http.NotFound: ServeMux matched no pattern for r.URL.Path (the decoded path)",
        "route on r.URL.EscapedPath() (or RawPath), or a pattern that takes the id whole ({id...})",
        "net/http/server.go (NotFound: Error(w, '404 page not found', StatusNotFound))",
        statuses=(404,),
        body=r"^404 page not found",
        content_type="text/plain",
    ),
    Tell(
        "Go net/http",
        FRAMEWORK,
        "Go's ServeMux redirect: it cleans the path (merges '//', resolves dot segments) and answers 301",
        "route with your own handler instead of ServeMux's cleaning, or register the paths as sent",
        "net/http/server.go (ServeMux.Handler: cleanPath, StatusMovedPermanently)",
        statuses=(301,),
        body=r'^<a href="[^"]*">Moved Permanently</a>',
    ),
    Tell(
        "Go net/http",
        SERVER,
        "Go's server refused the request head as larger than MaxHeaderBytes (1 MB by default)",
        "http.Server{MaxHeaderBytes: ...}",
        "net/http/server.go (conn.serve: '431 Request Header Fields Too Large')",
        statuses=(431,),
        body=r"^431 Request Header Fields Too Large",
        content_type="text/plain",
    ),
    # -- the JDK's HttpServer -----------------------------------------------------------------------------
    Tell(
        "JDK com.sun.net.httpserver",
        SERVER,
        "the JDK's HttpServer found no context for the path (it matches contexts on URI.getPath(), decoded)",
        "create the context at a prefix of the raw path and route on exchange.getRequestURI().getRawPath()",
        "sun/net/httpserver/ServerImpl.java (reject(404, ..., 'No context found for request'))",
        statuses=(404,),
        body=r"<h1>404 Not Found</h1>No context found for request",
    ),
    # -- Tomcat -------------------------------------------------------------------------------------------
    Tell(
        "Apache Tomcat",
        SERVER,
        "Tomcat's error report page (refused before the servlet: a request head over maxHttpHeaderSize, or "
        "an encoded slash, which Tomcat refuses by default)",
        "the Connector's maxHttpHeaderSize (8 KiB by default) and encodedSolidusHandling",
        "https://tomcat.apache.org/tomcat-10.1-doc/config/http.html (maxHttpHeaderSize, "
        "encodedSolidusHandling); ErrorReportValve's '<title>HTTP Status ...'",
        body=r"<title>HTTP Status \d{3} ",
        content_type="text/html",
    ),
    # -- nginx --------------------------------------------------------------------------------------------
    Tell(
        "nginx",
        PROXY,
        "nginx refused the request head: a header line longer than its large buffers (8 KiB by default)",
        "large_client_header_buffers (e.g. 4 32k)",
        "https://nginx.org/en/docs/http/ngx_http_core_module.html#large_client_header_buffers; "
        "src/http/ngx_http_special_response.c (ngx_http_error_494_page)",
        statuses=(400, 494),
        body=r"Request Header Or Cookie Too Large",
    ),
    Tell(
        "nginx",
        PROXY,
        "nginx refused the request line as longer than its large buffers (8 KiB by default)",
        "large_client_header_buffers (e.g. 4 32k)",
        "https://nginx.org/en/docs/http/ngx_http_core_module.html#large_client_header_buffers",
        statuses=(414,),
        body=r"<center>nginx",
    ),
    Tell(
        "nginx",
        PROXY,
        "nginx's own error page, in front of the application; behind `proxy_pass` with a URI part it "
        "forwards the normalised path (merged slashes, %2F decoded, dot segments resolved)",
        "proxy_pass without a URI part (the request URI as the client sent it), merge_slashes off",
        "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_pass, "
        "https://nginx.org/en/docs/http/ngx_http_core_module.html#merge_slashes",
        body=r"<hr><center>nginx",
    ),
    Tell(
        "nginx",
        PROXY,
        "nginx stands in front (its Server header replaces the application's); behind `proxy_pass` with a "
        "URI part it forwards the path normalised: merged slashes, %2F decoded, dot segments resolved",
        "proxy_pass without a URI part (the request URI as the client sent it), merge_slashes off",
        "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_pass (proxy_hide_header: Server)",
        server=r"^nginx",
    ),
    Tell(
        "uvicorn",
        SERVER,
        "served by uvicorn (its Server header)",
        "",
        "uvicorn/server.py (server_header: 'server: uvicorn' by default)",
        server=r"^uvicorn",
    ),
    Tell(
        "gunicorn",
        SERVER,
        "served by gunicorn (its Server header)",
        "",
        "gunicorn/http/wsgi.py (Response.default_headers: 'Server: gunicorn')",
        server=r"^gunicorn",
    ),
    Tell(
        "aiohttp",
        SERVER,
        "served by aiohttp (its Server header)",
        "",
        "aiohttp/web_response.py (SERVER_SOFTWARE: 'Python/x.y aiohttp/x.y.z')",
        server=r"aiohttp",
    ),
    Tell(
        "Werkzeug",
        SERVER,
        "served by Werkzeug's development server (its Server header)",
        "",
        "werkzeug/serving.py (WSGIRequestHandler.server_version)",
        server=r"^Werkzeug",
    ),
    # -- Envoy, HAProxy, Apache httpd ---------------------------------------------------------------------
    Tell(
        "Envoy",
        PROXY,
        "Envoy could not reach the application (its own 503 text)",
        "the cluster's endpoints and connect timeout; the application is not answering Envoy",
        "https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/http/http_connection_management",
        statuses=(502, 503, 504),
        body=r"^upstream connect error or disconnect/reset before headers",
    ),
    Tell(
        "Envoy",
        PROXY,
        "Envoy stands in front; it refuses request heads over max_request_headers_kb (60 KiB) with 431",
        "the HttpConnectionManager's max_request_headers_kb",
        "https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/"
        "http_connection_manager/v3/http_connection_manager.proto (max_request_headers_kb)",
        server=r"^envoy",
    ),
    Tell(
        "Envoy",
        PROXY,
        "Envoy stands in front (x-envoy-* headers on the answer)",
        "the HttpConnectionManager's max_request_headers_kb and path normalisation (normalize_path, "
        "merge_slashes, path_with_escaped_slashes_action)",
        "https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/"
        "http_connection_manager/v3/http_connection_manager.proto",
        header="x-envoy-upstream-service-time",
    ),
    Tell(
        "HAProxy",
        PROXY,
        "HAProxy's own error page: it refused the request before any backend (a request head larger than "
        "tune.bufsize minus tune.maxrewrite)",
        "tune.bufsize (16384 by default) and tune.maxrewrite",
        "https://docs.haproxy.org/3.0/configuration.html#3.2-tune.bufsize (errorfile pages: "
        "'<html><body><h1>400 Bad Request</h1>Your browser sent an invalid request.')",
        body=r"<html><body><h1>\d{3} [^<]+</h1>\s*Your browser sent an invalid request",
    ),
    Tell(
        "Apache httpd",
        PROXY,
        "Apache httpd's own error page: a request line over LimitRequestLine or a header field over "
        "LimitRequestFieldSize (8,190 bytes each by default), or an encoded slash (AllowEncodedSlashes Off: "
        "404)",
        "LimitRequestLine, LimitRequestFieldSize, AllowEncodedSlashes NoDecode",
        "https://httpd.apache.org/docs/2.4/mod/core.html#limitrequestfieldsize (#limitrequestline, "
        "#allowencodedslashes); server/protocol.c ('Size of a request header field exceeds server limit')",
        body=r"<address>Apache|exceeds server limit|<title>\d{3} [^<]+</title>\s*</head><body>",
        content_type="text/html",
    ),
    Tell(
        "Apache httpd",
        PROXY,
        "Apache httpd stands in front",
        "LimitRequestLine, LimitRequestFieldSize, AllowEncodedSlashes NoDecode",
        "https://httpd.apache.org/docs/2.4/mod/core.html#limitrequestfieldsize",
        server=r"^Apache",
    ),
    # -- a cloud API gateway -------------------------------------------------------------------------------
    Tell(
        "the cloud API gateway (APIGW)",
        GATEWAY,
        "Huawei Cloud's API gateway answered itself (an APIGW.* error code), not the OMS service behind it",
        "none on your side for APIGW.0101 (no such API: check the path); APIGW.0301 is the IAM token",
        "https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-errorcode.html (API Gateway "
        "error codes: APIGW.0101 'The API does not exist or has not been published')",
        body=r'"error_code"\s*:\s*"APIGW\.\d{4}"',
    ),
)
