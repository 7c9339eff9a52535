#!/usr/bin/env python3
"""A callback receiver for the gateway tests: every POST's path and JSON body
is appended, one JSON line each, to the file named on the command line.
Answers 200, or the status in the environment variable CALLBACK_STATUS."""
import http.server
import json
import os
import sys
import threading

out_path, port = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()
status = int(os.environ.get("CALLBACK_STATUS", "200"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {"unparsed": body}
        with lock, open(out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"path": self.path, "content_type": self.headers.get("Content-Type"), "body": doc}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
