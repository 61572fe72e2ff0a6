"""A real HTTP server on 127.0.0.1 for the download tests: scripted failures, no network."""
import http.server
import re
import threading
import time


class Route:
    """What one path answers. fail_first: that many 500s first; drop_first: that many answers cut
    off halfway through the body; honour_range: answer Range with 206; stall: seconds to wait
    before the body; status: a fixed error status; redirect: a path to send the client to."""

    def __init__(self, body=b"", fail_first=0, drop_first=0, honour_range=True, stall=0.0,
                 status=None, redirect=None):
        self.body, self.fail_first, self.drop_first = body, fail_first, drop_first
        self.honour_range, self.stall, self.status, self.redirect = honour_range, stall, status, redirect


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        route = server.routes.get(self.path, server.routes.get("*"))  # "*": every other path
        server.requests.append((self.path, self.headers.get("Range")))
        if route is None or route.status:
            self._answer(route.status if route else 404, b"no such thing")
            return
        if route.redirect:
            self.send_response(302)
            self.send_header("Location", route.redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if route.fail_first > 0:
            route.fail_first -= 1
            self._answer(500, b"try again")
            return
        body, start = route.body, 0
        match = re.match(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and route.honour_range:
            start = int(match.group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if route.stall:
            time.sleep(route.stall)
        if route.drop_first > 0:
            route.drop_first -= 1
            self.wfile.write(body[start:start + (len(body) - start) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])

    def _answer(self, status, text):
        self.send_response(status)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


class Server:
    def __init__(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.routes, self.httpd.requests = {}, []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def add(self, path, **kw):
        self.httpd.routes[path] = Route(**kw)
        return self.url(path)

    @property
    def requests(self):
        return self.httpd.requests

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
