"""Stand-in for an OpenStack API on a controller: answers GET/HEAD/OPTIONS with its name.

haproxy's ``option httpchk`` sends ``OPTIONS /``, which real API services
answer and Python's http.server refuses (501), hence this tiny server.
Run as a script: ``webservice.py ADDRESS PORT NAME``.
"""
from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handler_for(name: str) -> type[BaseHTTPRequestHandler]:
    body = f"{name}\n".encode()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, with_body: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer(True)

        def do_HEAD(self) -> None:
            self._answer(False)

        do_OPTIONS = do_HEAD

        def log_message(self, *args) -> None:  # one line per request would flood the log
            pass

    return Handler


def main(argv: list[str]) -> None:
    address, port, name = argv
    ThreadingHTTPServer((address, int(port)), handler_for(name)).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
