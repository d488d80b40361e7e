"""HTTP/1.1 over TLS for the fake: stdlib ThreadingHTTPServer, keep-alive, deliberate drops."""

from __future__ import annotations

import json
import socket
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class TLSServer(ThreadingHTTPServer):
    """Hands every request to `app.handle(method, path, query, headers, body)`."""

    daemon_threads = True

    def __init__(self, address, app, tls: ssl.SSLContext):
        super().__init__(address, _Handler)
        self.app, self.tls = app, tls

    def finish_request(self, request, client_address):
        # TLS handshake in the connection's own thread, so one slow client blocks no one;
        # NODELAY because headers and body go out in two writes (Nagle + delayed ACK = 40 ms).
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().finish_request(self.tls.wrap_socket(request, server_side=True), client_address)

    def handle_error(self, request, client_address):
        pass  # handshakes a test refuses on purpose, and connections a fault drops


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: TLSServer

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.app.handle(self.command, url.path, query, self.headers, body)
        if reply is None:  # a dropped connection: close without a status line
            self.close_connection = True
            return
        status, payload, headers = reply
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        if not isinstance(payload, bytes):
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET
