"""A headless Chromium running a page of the test's own, served on 127.0.0.1, that reports what its
JsSIP phone does; and the helpers a browser-phone test runs inside a network namespace of its own."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
import traceback
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from realpbx.browser_phones import isolate_network

ROOT = Path(__file__).resolve().parents[2]
JSSIP = ROOT / "outbound_campaign/static/lib/jssip/jssip.js"
PAGE = Path(__file__).with_name("browser_phone_page.html")


def run_isolated(scenario, timeout: float = 90.0):
    """``scenario()`` in a forked child moved into a network namespace of its own; its return value,
    or its exception re-raised here (as an AssertionError with the child's traceback)."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def child():
        try:
            isolate_network()
            queue.put(("ok", scenario()))
        except BaseException:  # the child reports everything, the parent decides
            queue.put(("error", traceback.format_exc()))

    process = context.Process(target=child)
    process.start()
    try:
        status, value = queue.get(timeout=timeout)
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    if status == "error":
        raise AssertionError(f"the isolated scenario failed:\n{value}")
    return value


class PhonePage:
    """The page and its reports: ``wait_for("registered")`` returns the report (a dict)."""

    def __init__(self) -> None:
        self.reports: list[dict] = []
        self._changed = threading.Condition()
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = (JSSIP if self.path == "/jssip.js" else PAGE).read_bytes()
                kind = "text/javascript" if self.path == "/jssip.js" else "text/html"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                report = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                report["at"] = time.monotonic()
                with page._changed:
                    page.reports.append(report)
                    page._changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def wait_for(self, what: str, timeout: float = 20.0, after: int = 0, login: str | None = None) -> dict:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    r for r in self.reports[after:] if r["what"] == what and login in (None, r.get("login"))
                ]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the page never reported {what!r}; it reported {self.reports}")
                self._changed.wait(left)

    def close(self) -> None:
        self.server.shutdown()


def open_tab_in_front(devtools_port: int, url: str = "about:blank") -> None:
    """A new tab on ``url`` in front: the phone's tab is then a background tab (hidden)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{devtools_port}/json/new?{urllib.parse.quote(url, safe=':/')}", method="PUT"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        target = json.load(response)
    with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/activate/{target['id']}", timeout=10):
        pass
