#!/usr/bin/env python3
"""A stand-in for IGNY8 for bench/wp-save-bench.sh: just enough of the API for the plugin to connect and send
its queue (every item applied), on 127.0.0.1, with a log of the items received; or a port that accepts
connections and never answers (IGNY8 gone away).

  igny8-stub.py serve PORT LOG       answer the plugin's endpoints; one line per received item in LOG
  igny8-stub.py blackhole PORT       accept and hold every connection, never read or answer
"""
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


def envelope(data):
    return {"success": True, "data": data}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_file = None

    def log_message(self, *args):
        pass

    def answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/api/v1/auth/sites/":
            return self.answer(200, envelope([{"id": 1, "account_id": 1, "name": "Save bench", "url": "", "is_active": True}]))
        if path == "/api/v1/integration/integrations/":
            return self.answer(200, envelope([{"id": 1, "site": 1, "platform": "wordpress", "is_active": True}]))
        if path.endswith("/content/status/"):
            return self.answer(200, envelope({"full_sync_requested": False, "verify_requested": False}))
        return self.answer(404, {"success": False, "error": "No route.", "code": "not_found"})

    def do_POST(self):
        path = urlparse(self.path).path
        body = self.body()
        if path == "/api/v1/auth/login/":
            return self.answer(200, envelope({"access": "a", "refresh": "r", "user": {"id": 1, "account_id": 1}}))
        if path.endswith("/update-structure/"):
            types = {"post_types": body.get("post_types", {}), "taxonomies": body.get("taxonomies", {})}
            return self.answer(200, envelope({"post_types_count": len(types["post_types"]), "taxonomies_count": len(types["taxonomies"]), "content_types": types}))
        if path.endswith("/content/batch/"):
            items = body.get("items", [])
            with open(Handler.log_file, "a") as log:
                for item in items:
                    log.write(json.dumps({"at": time.time(), "wp_id": item.get("wp_id"), "title": item.get("data", {}).get("title")}) + "\n")
            results = [{"index": i, "status": "applied"} for i in range(len(items))]
            return self.answer(200, envelope({"batch_id": body.get("batch_id"), "results": results, "applied": len(items), "stale": 0, "rejected": 0}))
        if path.endswith("/content/full-sync/") or path.endswith("/content/verify/") or path.endswith("/resync-request/"):
            return self.answer(200, envelope({"status": "done", "differing": [], "resend": [], "delete": []}))
        return self.answer(404, {"success": False, "error": "No route.", "code": "not_found"})


def blackhole(port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(128)
    held = []
    while True:
        conn, _ = server.accept()
        held.append(conn)  # Never read, never answered, never closed.


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        Handler.log_file = sys.argv[3]
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
    elif len(sys.argv) >= 3 and sys.argv[1] == "blackhole":
        blackhole(int(sys.argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
