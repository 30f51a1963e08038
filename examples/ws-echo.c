/* ws-echo.c - a WebSocket server embedded with libnxx's C API: /echo sends
 * every message back, upper-cased for text, and counts the messages of each
 * connection (its per-connection data); /chat/NAME is a publish/subscribe
 * channel (every message goes to everyone on NAME).  A client that offers
 * the "upper" subprotocol gets it and its text upper-cased; others get
 * their text back as it was.
 *
 *   ws-echo [ADDR]
 *   NXX_ACCESS_LOG=FILE   an access log in JSON lines (the tests read it) */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nxx.h>

static nxx_server *srv;
static void stop(int sig)
{
    (void)sig;
    nxx_server_stop(srv);
}

struct counter {
    unsigned long messages;
    int upper;
};

static void on_open(nxx_ws *ws, nxx_req *req, void *ud)
{
    (void)req;
    (void)ud;
    struct counter *c = calloc(1, sizeof(*c));
    if (!c) {
        nxx_ws_close(ws, 1011, "out of memory");
        return;
    }
    nxx_str p = nxx_ws_protocol(ws);
    c->upper = p.len == 5 && memcmp(p.ptr, "upper", 5) == 0;
    nxx_ws_set_data(ws, c);
}

static void on_message(nxx_ws *ws, int type, const void *data, size_t len, void *ud)
{
    (void)ud;
    struct counter *c = nxx_ws_data(ws);
    if (!c)
        return;
    c->messages++;
    if (type == NXX_WS_TEXT && len == 5 && memcmp(data, "count", 5) == 0) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%lu", c->messages);
        nxx_ws_send(ws, NXX_WS_TEXT, buf, (size_t)n);
        return;
    }
    if (type == NXX_WS_TEXT && len == 3 && memcmp(data, "bye", 3) == 0) {
        nxx_ws_close(ws, 1000, "bye");
        return;
    }
    if (type != NXX_WS_TEXT || !c->upper) {
        nxx_ws_send(ws, type, data, len);
        return;
    }
    char *up = malloc(len ? len : 1);
    if (!up)
        return;
    for (size_t i = 0; i < len; i++)
        up[i] = (char)toupper(((const unsigned char *)data)[i]);
    nxx_ws_send(ws, NXX_WS_TEXT, up, len);
    free(up);
}

static void on_close(nxx_ws *ws, int code, void *ud)
{
    (void)code;
    (void)ud;
    free(nxx_ws_data(ws));
}

int main(int argc, char **argv)
{
    nxx_config cfg;
    nxx_config_init(&cfg);
    cfg.access_log = getenv("NXX_ACCESS_LOG");
    cfg.access_log_json = 1;
    srv = nxx_server_new(&cfg);
    if (!srv || nxx_server_listen(srv, argc > 1 ? argv[1] : "127.0.0.1:8080") != 0)
        return perror("listen"), 1;

    static const char *const protocols[] = { "upper" };
    nxx_ws_config wc;
    nxx_ws_config_init(&wc);
    wc.protocols = protocols;
    wc.nprotocols = 1;
    wc.max_message = 64 * 1024;
    static const struct nxx_ws_ops ops = { on_open, on_message, on_close };
    nxx_scope *host = nxx_server_host(srv, NULL);
    int err = nxx_scope_websocket(nxx_host_location(host, "= /echo"), &wc, &ops, NULL);
    err |= nxx_scope_ws_channels(nxx_host_location(host, "/chat"), NULL);
    if (err) {
        fprintf(stderr, "ws-echo: cannot set up the site\n");
        return 1;
    }

    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "ws-echo: listening on http://127.0.0.1:%d (WebSocket: /echo, /chat/NAME)\n",
            nxx_server_port(srv, 0));
    int r = nxx_server_run(srv);
    nxx_server_free(srv);
    return r ? 1 : 0;
}
