/*
 * status_list.h - THE list of status codes nxx knows: one X(...) line per
 * code, expanded by status.c into the registry and by http1.c into its
 * status lines, so the two cannot disagree.  Include only where the list
 * is expanded; B, C, N, S and L are the flag shorthands of status.c.
 */
#ifndef NXX_HTTP_STATUS_LIST_H
#define NXX_HTTP_STATUS_LIST_H

/*
 * X(code, reason, flags, rfc, summary, sent_when, planned), in ascending code
 * order (checked at compile time in status.c).
 *
 * B (may carry content): not 1xx (RFC 9110 §15.2), 204 (§15.3.5), 205
 * (§15.3.6: "MUST NOT generate content") or 304 (§15.4.5).  C (cacheable):
 * the heuristically cacheable set of RFC 9110 §15.1.
 *
 * Who sends it today, by a real mechanism in the situation SPEC.md gives:
 *   S  `nxx serve`, as its options configure it (and so the library);
 *   L  only the library: its engine, or a handler or policy that an
 *      embedding program sets up, which nxx serve cannot set up yet;
 *   N  never (305 deprecated, 306 reserved);
 *   none of them: not sent yet.
 * sent_when says what sends it today ("" when nothing does; why not, for
 * N); planned keeps what SPEC.md says will send it and is not built yet
 * ("" when nothing is missing).  A code gains S or L only with an
 * integration test that makes nxx send it: the census at the end of
 * tests/integration/run.py fails otherwise.
 */
#define STATUS_LIST(X)                                                                             \
    X(100, "Continue", S, "RFC 9110 §15.2.1",                                                      \
      "Interim: the start of the request was received and not rejected; send the content.",        \
      "A request with Expect: 100-continue whose head passes routing, the policies and the "       \
      "content limit, just before its content is read (REST writes, embedded routes that take "    \
      "content); the final status instead when the request will fail; never to HTTP/1.0.",         \
      "")                                                                                          \
    X(101, "Switching Protocols", S, "RFC 9110 §15.2.2",                                           \
      "The server switches the connection to the protocol named in its Upgrade field.",            \
      "A valid WebSocket opening handshake (RFC 6455 §4.2.2) on a websocket location "            \
      "(--ws-echo, an echo or publish/subscribe channels), with Sec-WebSocket-Accept and "         \
      "the subprotocol and permessage-deflate parameters agreed; an embedded handler that "        \
      "accepts the Upgrade it was asked for (nxx_req_takeover with 101: examples/hello.c's "       \
      "x-echo); never to HTTP/1.0.",                                                               \
      "A WebSocket upgrade proxied to an upstream.")                                               \
    X(102, "Processing", S, "RFC 2518 §10.1",                                                      \
      "Interim: the request was received and is still being processed.",                           \
      "A WebDAV DELETE, COPY, MOVE or PROPFIND of a collection's members still working after the " \
      "location's processing-delay (1 s by default): one 102 then, and one per second until the "  \
      "final response; HTTP/1.1 clients only.",                                                    \
      "")                                                                                          \
    X(103, "Early Hints", S, "RFC 8297 §2",                                                        \
      "Interim: header fields (usually Link preload hints) the final response is likely to "       \
      "carry.",                                                                                    \
      "A GET or HEAD routed to a scope with early-hints, once its head policies pass and before "  \
      "the handler runs: one 103 with the Link values of the server, host and location (an "       \
      "interim HEADERS frame over HTTP/2); the final response carries the same Link fields. A "    \
      "proxy location also passes on each 103 its upstream sends before the final response, "      \
      "with that 103's end-to-end fields (its Link hints), hop-by-hop ones removed. Never to "     \
      "HTTP/1.0.",                                                                                 \
      "Hints read from an HTML file's <link rel=preload> elements.")                               \
    X(200, "OK", B | C | S, "RFC 9110 §15.3.1",                                                    \
      "The request succeeded; what the content means depends on the method.",                      \
      "GET/HEAD of a file, a directory listing, a REST item or collection; WebDAV OPTIONS, LOCK "  \
      "(a refresh or an existing resource), UNBIND, and BIND/REBIND that replaced a binding; "     \
      "REST PUT/PATCH "                                                                            \
      "returning the representation; TRACE (only with --trace) returning message/http; a "         \
      "CONNECT an embedded handler takes over, before the tunnel.",                                \
      "")                                                                                          \
    X(201, "Created", B | S, "RFC 9110 §15.3.2",                                                   \
      "The request succeeded and created a new resource, identified by Location.",                 \
      "REST POST to a collection, and PUT that creates an item; with Location and ETag; WebDAV "   \
      "PUT (with ETag), MKCOL, COPY, MOVE, BIND and REBIND to a new name, and LOCK of an "         \
      "unmapped URL.",                                                                             \
      "")                                                                                          \
    X(202, "Accepted", B | S, "RFC 9110 §15.3.3",                                                  \
      "The request was accepted for processing, which has not finished.",                          \
      "REST bulk import: answered at once with the Location of a task monitor and {taskId, "       \
      "status, monitorUrl}; the task runs in the background and survives a restart.",              \
      "Other long jobs, answered the same way.")                                                   \
    X(203, "Non-Authoritative Information", B | C | S, "RFC 9110 §15.3.4",                         \
      "Success, but a transforming proxy modified the origin server's 200 content.",               \
      "A proxy location with transform or inject, for an upstream 200 text response it rewrote "   \
      "(literal substitutions, a snippet before </body>); Content-Length recomputed.",             \
      "")                                                                                          \
    X(204, "No Content", C | S, "RFC 9110 §15.3.5",                                                \
      "The request succeeded and there is no content to send.",                                    \
      "DELETE of a REST item or a WebDAV resource; REST PUT/PATCH with Prefer: return=minimal; "   \
      "OPTIONS, with Allow; WebDAV PUT, COPY and MOVE that replaced an existing resource, and "    \
      "UNLOCK.",                                                                                   \
      "")                                                                                          \
    X(205, "Reset Content", S, "RFC 9110 §15.3.6",                                                 \
      "The request succeeded; the user agent should reset the form or view that sent it.",         \
      "An HTML form submission (urlencoded or multipart) that created a REST item, so the form "   \
      "is cleared for the next entry.",                                                            \
      "")                                                                                          \
    X(206, "Partial Content", B | C | S, "RFC 9110 §15.3.7",                                       \
      "The content is one or more parts of the selected representation, as Range asked.",          \
      "Range on files: one range with Content-Range, several as multipart/byteranges; If-Range "   \
      "honoured.",                                                                                 \
      "Range on stored REST representations.")                                                     \
    X(207, "Multi-Status", B | S, "RFC 4918 §11.1",                                                \
      "Several independent operations, each with its own status, in an XML multistatus body.",     \
      "WebDAV PROPFIND and PROPPATCH (each property's status), and a DELETE of a collection "      \
      "with members that could not be removed.",                                                   \
      "")                                                                                          \
    X(208, "Already Reported", B | S, "RFC 5842 §7.1",                                             \
      "Members of a binding already listed earlier in the same multistatus are not repeated.",     \
      "WebDAV PROPFIND Depth: infinity (where allowed) from a client that sends DAV: bind and "    \
      "reaches a collection a second time (bound twice with BIND, or linked back to an "           \
      "ancestor): that collection is reported with 208 and its members not again.",                \
      "")                                                                                          \
    X(226, "IM Used", B | S, "RFC 3229 §10.4.1",                                                   \
      "Success: the content is the result of instance manipulations (a delta) on the current "     \
      "instance.",                                                                                 \
      "A-IM: feed with If-None-Match on a REST collection: only the items changed since that "     \
      "version, with IM: feed.",                                                                   \
      "")                                                                                          \
    X(300, "Multiple Choices", B | C | S, "RFC 9110 §15.4.1",                                      \
      "The target has several representations, each with its own URI; the client may choose.",     \
      "A name negotiated among its variants (files with multiviews: NAME.en, NAME.html.fr, a "     \
      "NAME.var type map) when the client asks for the list (Negotiate: trans or vlist without "   \
      "letting the server choose) or several variants are equally good and language-priority "     \
      "does not separate them: Alternates, TCN: list, Vary and an HTML list of links (RFC 2295).", \
      "")                                                                                          \
    X(301, "Moved Permanently", B | C | S, "RFC 9110 §15.4.2",                                     \
      "The resource has a new permanent URI, given in Location; the method may become GET.",       \
      "A directory requested without its trailing slash; a redirect location with status 301; a "  \
      "host's canonical name.",                                                                    \
      "")                                                                                          \
    X(302, "Found", B | S, "RFC 9110 §15.4.3",                                                     \
      "The resource is temporarily at the URI in Location; the method may become GET.",            \
      "A redirect location with status 302, the default of the configuration file's redirect "     \
      "(nxx_scope_redirect), for legacy clients.",                                                 \
      "")                                                                                          \
    X(303, "See Other", B | S, "RFC 9110 §15.4.4",                                                 \
      "The answer is at the URI in Location, to be retrieved with GET.",                           \
      "GET of a finished REST task's monitor points to the result; a redirect location with "      \
      "status 303.",                                                                               \
      "POST-redirect-GET routes.")                                                                 \
    X(304, "Not Modified", S, "RFC 9110 §15.4.5",                                                  \
      "A conditional GET or HEAD found the client's stored copy current; no content is sent.",     \
      "GET/HEAD of a file or a REST item or collection whose If-None-Match or "                    \
      "If-Modified-Since shows the client's copy is current; with ETag, Cache-Control, "           \
      "Expires, Vary and Date.",                                                                   \
      "")                                                                                          \
    X(305, "Use Proxy", B | N, "RFC 9110 §15.4.6",                                                 \
      "Deprecated: once meant the resource must be reached through the proxy in Location.",        \
      "Never: deprecated for security reasons (a response could redirect clients to any proxy).",  \
      "")                                                                                          \
    X(306, "(Unused)", B | N, "RFC 9110 §15.4.7",                                                  \
      "Reserved: used by an earlier draft specification and no longer defined.",                   \
      "Never: reserved.", "")                                                                      \
    X(307, "Temporary Redirect", B | S, "RFC 9110 §15.4.8",                                        \
      "The resource is temporarily at the URI in Location; the method must not change.",           \
      "A redirect location with status 307, which keeps the method.", "")                          \
    X(308, "Permanent Redirect", B | C | S, "RFC 9110 §15.4.9",                                    \
      "The resource has a new permanent URI in Location; the method must not change.",             \
      "A redirect location with status 308, and a host's canonical name with 308, which keep "     \
      "the method; every request on a plain listener with https-redirect, to the same URL over "   \
      "https (the port of the first TLS listener).",                                               \
      "")                                                                                          \
    X(400, "Bad Request", B | S, "RFC 9110 §15.5.1",                                               \
      "The server will not process the request because of a client error such as bad syntax.",     \
      "Bad request line, field syntax, missing or duplicate Host, "                                \
      "Content-Length/Transfer-Encoding conflicts, chunk framing, percent-encoding, malformed "    \
      "JSON or form content, a WebSocket handshake without Connection: upgrade, without "          \
      "Sec-WebSocket-Version or with a Sec-WebSocket-Key that is not 16 bytes in base64; "         \
      "the connection is closed when framing is in doubt.  A plain HTTP request on a TLS port: "   \
      "a problem body saying to use https, then close.",                                           \
      "")                                                                                          \
    X(401, "Unauthorized", B | S, "RFC 9110 §15.5.2",                                              \
      "The request lacks valid authentication credentials for the target resource.",               \
      "A scope with `auth` (or --auth-basic) gets no valid credentials: WWW-Authenticate: "        \
      "Basic realm=\"...\", charset=\"UTF-8\" (RFC 7617) and/or Bearer realm=\"...\", with "       \
      "error=\"invalid_token\" for a token no token file lists or a JWT (HS256, RS256, ES256) "    \
      "whose signature, exp, nbf, iss or aud fails (RFC 6750).",                                   \
      "")                                                                                          \
    X(402, "Payment Required", B | S, "RFC 9110 §15.5.3",                                          \
      "Reserved for future use by RFC 9110; commonly used when payment or quota is due.",          \
      "An API key (a `quota` scope) whose request quota for the day or month is spent; the "       \
      "problem body carries quota, used, renews (RFC 3339) and where to buy more.",                \
      "")                                                                                          \
    X(403, "Forbidden", B | S, "RFC 9110 §15.5.4",                                                 \
      "The server understood the request but refuses to fulfil it; new credentials will not "      \
      "help.",                                                                                     \
      "A directory without index.html while listings are off; a file the server may not open "     \
      "(EACCES, EPERM); devices, FIFOs and sockets; WebDAV PROPFIND Depth: infinity where not "    \
      "allowed (DAV:propfind-finite-depth), a PROPPATCH of a live property; a WebSocket "          \
      "handshake from an Origin its location does not list; a location with client-cert "          \
      "without a TLS client certificate verified against tls-client-ca; a signed-in user "         \
      "lacking the role a `require` rule asks for (the detail names the role).",                   \
      "")                                                                                          \
    X(404, "Not Found", B | C | S, "RFC 9110 §15.5.5",                                             \
      "The server has no current representation for the target resource, or will not say.",        \
      "No route, file or item matches; dotfiles are hidden this way.", "")                         \
    X(405, "Method Not Allowed", B | C | S, "RFC 9110 §15.5.6",                                    \
      "The method is known to the server but not supported by the target resource.",               \
      "The method exists but the resource does not support it (POST to a file, CONNECT where "     \
      "no route takes it); always with Allow.",                                                    \
      "")                                                                                          \
    X(406, "Not Acceptable", B | S, "RFC 9110 §15.5.7",                                            \
      "No representation is acceptable according to the request's negotiation fields.",            \
      "Accept-Encoding refuses identity and no precompressed variant fits (files); Accept "        \
      "rules out JSON (REST); Accept or Accept-Language rule out every variant of a negotiated "   \
      "name (files with multiviews; Alternates lists them); a coffee pot (teapot with coffee) "    \
      "lacking an addition asked for.",                                                            \
      "Accept-Charset ruling out every representation.")                                           \
    X(407, "Proxy Authentication Required", B | S, "RFC 9110 §15.5.8",                             \
      "Like 401, but the client must authenticate to the proxy.",                                  \
      "A scope with `auth` in proxy mode gets a request without valid Proxy-Authorization "        \
      "(absolute-form requests); with Proxy-Authenticate.",                                        \
      "The forward proxy's CONNECT tunnels.")                                                      \
    X(408, "Request Timeout", B | S, "RFC 9110 §15.5.9",                                           \
      "The server did not receive a complete request in the time it was prepared to wait.",        \
      "Head or content not received within the request timeout: 408 with Connection: close, "      \
      "then close; idle keep-alive connections are closed silently.",                              \
      "")                                                                                          \
    X(409, "Conflict", B | S, "RFC 9110 §15.5.10",                                                 \
      "The request conflicts with the current state of the target resource.",                      \
      "REST create (JSON or form) with an id that already exists; WebDAV MKCOL, PUT, LOCK, "       \
      "COPY or MOVE whose parent collection is missing; UNLOCK with a token that does not lock "   \
      "the resource.",                                                                             \
      "REST create with an existing unique value.")                                                \
    X(410, "Gone", B | C | S, "RFC 9110 §15.5.11",                                                 \
      "The target resource is no longer available at the origin, and likely never will be.",       \
      "A REST item that was deleted (its tombstone is kept); a scope marked gone.", "")            \
    X(411, "Length Required", B | S, "RFC 9110 §15.5.12",                                          \
      "The server refuses to accept the request without a Content-Length.",                        \
      "Content without Content-Length (chunked) sent to a scope with require-length "              \
      "(nxx_scope_require_length).",                                                               \
      "")                                                                                          \
    X(412, "Precondition Failed", B | S, "RFC 9110 §15.5.13",                                      \
      "One or more conditions given in the request header fields evaluated to false.",             \
      "If-Match/If-Unmodified-Since false, or If-None-Match true on a state-changing method "      \
      "(files, REST items and collections); WebDAV COPY/MOVE with Overwrite: F onto an existing "  \
      "resource; a WebDAV If field whose every list is false.",                                    \
      "")                                                                                          \
    X(413, "Content Too Large", B | S, "RFC 9110 §15.5.14",                                        \
      "The request content is larger than the server is willing or able to process.",              \
      "A body over the location's limit (from Content-Length before reading, or while reading "    \
      "a chunked body); the connection is closed.",                                                \
      "")                                                                                          \
    X(414, "URI Too Long", B | C | S, "RFC 9110 §15.5.15",                                         \
      "The target URI is longer than the server is willing to interpret.",                         \
      "A request-target over the limit (default 8 KiB).", "")                                      \
    X(415, "Unsupported Media Type", B | S, "RFC 9110 §15.5.16",                                   \
      "The content's media type or content coding is not supported by the target resource.",       \
      "A body type or Content-Encoding a REST route does not take, with Accept-Post or "           \
      "Accept-Patch; a brew a teapot location does not make; a WebDAV MKCOL with a body.",         \
      "")                                                                                          \
    X(416, "Range Not Satisfiable", B | S, "RFC 9110 §15.5.17",                                    \
      "None of the ranges in the request's Range field overlap the selected representation.",      \
      "No requested range overlaps the file: Content-Range: bytes */LENGTH.", "")                  \
    X(417, "Expectation Failed", B | S, "RFC 9110 §15.5.18",                                       \
      "The expectation in the request's Expect field could not be met.",                           \
      "An Expect value other than 100-continue.", "")                                              \
    X(418, "I'm a teapot", B | S, "RFC 2324 §2.3.2 / RFC 7168",                                    \
      "HTCPCP: a teapot refuses to brew coffee; RFC 9110 §15.5.19 reserves 418 for this joke.",    \
      "BREW or POST of message/coffeepot to a teapot location (nxx_scope_teapot).", "")            \
    X(421, "Misdirected Request", B | S, "RFC 9110 §15.5.20",                                      \
      "The request reached a server unable to answer for the authority of its target URI.",        \
      "With strict-hosts (strict_hosts), a Host or absolute-form authority that names none "       \
      "of the configured hosts; on a TLS connection whose client sent SNI, a request whose "       \
      "authority the connection's certificate does not cover (SNI a.example, Host b.example: "     \
      "RFC 9110 §7.4).",                                                                           \
      "")                                                                                          \
    X(422, "Unprocessable Content", B | S, "RFC 9110 §15.5.21",                                    \
      "The content's type and syntax are understood, but its instructions cannot be processed.",   \
      "Well-formed JSON that violates the collection's JSON Schema (each error with a JSON "       \
      "pointer), or an unusable id member.",                                                       \
      "Semantically invalid WebDAV XML.")                                                          \
    X(423, "Locked", B | S, "RFC 4918 §11.3",                                                      \
      "The source or destination resource of a method is locked.",                                 \
      "A WebDAV write (PUT, PROPPATCH, MKCOL, DELETE, MOVE, COPY's destination, LOCK) to a "       \
      "resource whose lock token is not in the If field (DAV:lock-token-submitted), or a LOCK "    \
      "that conflicts with a lock held (DAV:no-conflicting-lock).",                                \
      "")                                                                                          \
    X(424, "Failed Dependency", B | S, "RFC 4918 §11.4",                                           \
      "The method was not performed because an action it depended on failed.",                     \
      "Inside a WebDAV PROPPATCH 207: the changes not made because another change of the same "    \
      "all-or-nothing request failed.",                                                            \
      "")                                                                                          \
    X(425, "Too Early", B | S, "RFC 8470 §5.2",                                                    \
      "The server will not risk processing a request that might be replayed (TLS early data).",    \
      "A request with a method that is not safe received in TLS 1.3 early data (0-RTT, with "      \
      "tls-early-data): the client sends it again after the handshake; a scope with "              \
      "`early-data` gets a request marked Early-Data: 1 by a trusted front proxy with an unsafe "  \
      "method (any method in reject mode).",                                                       \
      "")                                                                                          \
    X(426, "Upgrade Required", B | S, "RFC 9110 §15.5.22",                                         \
      "The server refuses the request over the current protocol but would after an Upgrade.",      \
      "A plain request to a websocket location: Upgrade: websocket and Connection: "               \
      "Upgrade (over HTTP/2 the detail names extended CONNECT, RFC 8441, as the way in); "         \
      "a WebSocket handshake of a version other than 13: Sec-WebSocket-Version: "                  \
      "13 (RFC 6455 §4.4).",                                                                       \
      "A TLS-only route over plain HTTP.")                                                         \
    X(428, "Precondition Required", B | S, "RFC 6585 §3",                                          \
      "The origin server requires the request to be conditional, to prevent lost updates.",        \
      "A REST PUT, PATCH or DELETE of an existing item without If-Match, with "                    \
      "--api-require-preconditions.",                                                              \
      "")                                                                                          \
    X(429, "Too Many Requests", B | S, "RFC 6585 §4",                                              \
      "The client has sent too many requests in a given amount of time (rate limiting).",          \
      "A rate limit (fixed window or token bucket per client address, user, API key or field) "    \
      "is spent, with Retry-After, RateLimit-Policy and RateLimit; a client address that failed "  \
      "to sign in too often.",                                                                     \
      "")                                                                                          \
    X(431, "Request Header Fields Too Large", B | S, "RFC 6585 §5",                                \
      "The header section, or one header field, is too large for the server to process.",          \
      "The header section, or one field, is over its limit; the problem detail names the field.",  \
      "")                                                                                          \
    X(451, "Unavailable For Legal Reasons", B | S, "RFC 7725 §3",                                  \
      "Access to the resource is denied as a consequence of a legal demand.",                      \
      "A request under a legal-block scope (nxx_scope_legal_block); with a Link "                  \
      "rel=\"blocked-by\" field.",                                                                 \
      "")                                                                                          \
    X(500, "Internal Server Error", B | S, "RFC 9110 §15.6.1",                                     \
      "The server met an unexpected condition that prevented it from fulfilling the request.",     \
      "A handler failed unexpectedly (an I/O or database error, an embedded callback's error, "    \
      "a handler that returned without answering): logged with a request id, no internals "        \
      "leaked.",                                                                                   \
      "")                                                                                          \
    X(501, "Not Implemented", B | C | S, "RFC 9110 §15.6.2",                                       \
      "The server does not support the functionality the request needs (e.g. its method).",        \
      "An unrecognised method; a transfer coding nxx does not implement.", "")                     \
    X(502, "Bad Gateway", B | S, "RFC 9110 §15.6.3",                                               \
      "A gateway or proxy received an invalid response from the inbound server.",                  \
      "A proxy location whose upstream refused or reset the connection, closed it without an "     \
      "answer, or sent an invalid or cut-short response head (the detail names the upstream "      \
      "group, not its addresses); a response already begun is cut short instead; a WebDAV COPY "   \
      "or MOVE whose Destination names another server or lies outside the WebDAV location "        \
      "(RFC 4918 §9.8.5).",                                                                        \
      "")                                                                                          \
    X(503, "Service Unavailable", B | S, "RFC 9110 §15.6.4",                                       \
      "The server cannot handle the request now, because of temporary overload or maintenance.",   \
      "Over --max-connections, or out of file descriptors; a REST API whose store cannot be "      \
      "opened yet (a full disk), or a REST write while the store is closing; an API-key quota "    \
      "whose key store cannot be read; a maintenance switch and a max-inflight limit; a proxy "    \
      "location whose every upstream is marked down (passive or active health checks); an "        \
      "HTTP/2 CONNECT over --h2-max-tunnels on its connection; with Retry-After and a page that "  \
      "explains.",                                                                                 \
      "A queue limit; requests arriving while draining at shutdown.")                              \
    X(504, "Gateway Timeout", B | S, "RFC 9110 §15.6.5",                                           \
      "A gateway or proxy did not receive a timely response from an upstream server.",             \
      "A proxy location whose upstream did not accept the connection within connect-timeout, "     \
      "did not answer within header-timeout, or went silent for idle-timeout before its head.",    \
      "")                                                                                          \
    X(505, "HTTP Version Not Supported", B | S, "RFC 9110 §15.6.6",                                \
      "The server does not support the major version of HTTP used in the request.",                \
      "A request-line version whose major number is not 1.", "")                                   \
    X(506, "Variant Also Negotiates", B | S, "RFC 2295 §8.1",                                      \
      "Configuration error: the chosen variant is itself set up for transparent negotiation.",     \
      "A negotiated name (files with multiviews) whose best variant is itself a type map "         \
      "(NAME.var listing OTHER.var, or a variant file ending in .var): the server would "          \
      "negotiate again for ever; logged as a configuration error.",                                \
      "")                                                                                          \
    X(507, "Insufficient Storage", B | S, "RFC 4918 §11.5",                                        \
      "The method could not be performed because the server cannot store the representation.",     \
      "A REST write over --api-max-db-bytes, a WebDAV PUT over the location's quota "              \
      "(DAV:quota-not-exceeded), or a full disk or database (ENOSPC, EDQUOT, SQLITE_FULL); "       \
      "nothing half-written is left behind.",                                                      \
      "")                                                                                          \
    X(508, "Loop Detected", B | S, "RFC 5842 §7.2",                                                \
      "The server ended an operation because it met an infinite loop (e.g. Depth: infinity).",     \
      "WebDAV PROPFIND Depth: infinity (where allowed) meeting a link back to a collection above " \
      "it, from a client that does not send DAV: bind; a request to a proxy location whose Via "   \
      "already names this proxy's pseudonym (it came back through this server and would loop).",   \
      "")                                                                                          \
    X(510, "Not Extended", B | S, "RFC 2774 §7",                                                   \
      "The request did not meet the policy for accessing the resource (mandatory extensions; "     \
      "RFC 2774 is now Historic).",                                                                \
      "A location with require-extension gets a request that does not declare it mandatory "       \
      "(M- method with Man or C-Man); any M- request whose declarations nothing fulfils.",         \
      "")                                                                                          \
    X(511, "Network Authentication Required", B | S, "RFC 6585 §6",                                \
      "The client must authenticate to gain network access (captive portals).",                    \
      "A scope with `captive`: a client address not yet admitted (by a POST to the login path) "   \
      "gets an HTML page linking to the portal, never cacheable.",                                 \
      "")

#endif
