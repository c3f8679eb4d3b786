"""A few Chrome DevTools Protocol calls over websocket-client (Odoo's own dependency), for a test
that drives a Chromium of its own: open a page, run JavaScript in it, wait for a condition."""

import contextlib
import json
import time
import urllib.request

import websocket


class Page:
    """One tab of the Chromium listening on ``devtools_port``, in a browser context of its own
    (its own cookies: one user per page)."""

    def __init__(self, devtools_port, url):
        with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/version", timeout=10) as response:
            browser = json.load(response)["webSocketDebuggerUrl"]
        self._browser = websocket.create_connection(browser, timeout=30)
        self._id = 0
        self.context = self._call(self._browser, "Target.createBrowserContext")["browserContextId"]
        target = self._call(self._browser, "Target.createTarget", url=url, browserContextId=self.context)
        self.target_id = target["targetId"]
        self._page = websocket.create_connection(
            f"ws://127.0.0.1:{devtools_port}/devtools/page/{self.target_id}", timeout=30
        )

    def _call(self, connection, method, **params):
        self._id += 1
        connection.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(connection.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        """The value of ``expression`` (awaited if it is a promise)."""
        result = self._call(
            self._page, "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url):
        self._call(self._page, "Page.navigate", url=url)

    def cover(self):
        """Another tab of the same window in front: this page is then in the background (hidden)."""
        other = self._call(
            self._browser, "Target.createTarget", url="about:blank", browserContextId=self.context
        )
        self._call(self._browser, "Target.activateTarget", targetId=other["targetId"])

    def wait_until(self, expression, what, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(AssertionError):  # the page is (re)loading
                if self.evaluate(expression):
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s; the page: {self._where()}")
            time.sleep(0.2)

    def _where(self):
        """Where the page is and what it shows: what a failed wait needs to be understood."""
        try:
            return self.evaluate(
                "location.href + ' | ' + (document.body?.innerText || '').slice(0, 800) + ' | ' + "
                "performance.getEntriesByType('resource').filter(r => r.responseStatus >= 400)"
                ".map(r => r.responseStatus + ' ' + r.name).join(', ') + ' | ' + "
                "document.documentElement.outerHTML.slice(0, 1500)"
            )
        except AssertionError as exc:
            return str(exc)

    def close(self):
        self._page.close()
        self._browser.close()
