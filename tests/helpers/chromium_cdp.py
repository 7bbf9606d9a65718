"""Debian's headless ``chromium`` driven through the DevTools protocol over
``--remote-debugging-pipe`` (JSON messages ending in NUL on fds 3 and 4), so
no WebDriver or websocket package is needed."""
import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
from typing import Optional

import pytest

# The one optional system package of a full test run (README, Quick start).
CHROMIUM_SKIP_REASON = (
    'no `chromium` on PATH: the page tests need Debian\'s `chromium` '
    'package; install it with `apt-get install -y chromium` (.ci/run does)')


def require_chromium() -> str:
    """The path of ``chromium``; without one the calling test is skipped
    with the package and the command that installs it."""
    binary = shutil.which('chromium')
    if binary is None:
        pytest.skip(CHROMIUM_SKIP_REASON)
    return binary


class Chromium:
    """One headless browser and one page in it.

    Args:
        profile (str): An empty folder for the browser's profile.
        width (int): Viewport width. Defaults to 1000.
        height (int): Viewport height. Defaults to 700.
    """

    def __init__(self, profile: str, width: int = 1000, height: int = 700):
        binary = require_chromium()
        read_end, self._to_browser = os.pipe()
        self._from_browser, write_end = os.pipe()
        # the browser's ends, above 3 and 4 so that moving them there in the
        # child cannot overwrite one with the other
        to_browser_r = fcntl.fcntl(read_end, fcntl.F_DUPFD, 10)
        from_browser_w = fcntl.fcntl(write_end, fcntl.F_DUPFD, 10)
        os.close(read_end)
        os.close(write_end)

        def child_fds():
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.proc = subprocess.Popen(
            [
                binary, '--headless', '--no-sandbox', '--disable-gpu',
                '--disable-dev-shm-usage', '--no-first-run',
                '--disable-extensions', '--remote-debugging-pipe',
                '--force-color-profile=srgb', f'--user-data-dir={profile}',
                'about:blank'
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=child_fds,
            # kept in the child: subprocess closes
            # the others after preexec_fn
            pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b''
        self._next_id = 0
        self.events = []
        target = self.call('Target.createTarget', url='about:blank')
        self.session = self.call(
            'Target.attachToTarget', targetId=target['targetId'],
            flatten=True)['sessionId']
        self.send('Page.enable')
        self.send('Runtime.enable')
        self.send(
            'Emulation.setDeviceMetricsOverride',
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False)

    def _read_message(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b'\0' not in self._buffer:
            if time.monotonic() > deadline:
                raise AssertionError('chromium did not answer in time')
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise AssertionError('chromium closed its DevTools pipe')
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(message)

    def call(self,
             method: str,
             session: Optional[str] = None,
             timeout: float = 60,
             **params) -> dict:
        """A DevTools command; returns its result."""
        self._next_id += 1
        message = dict(id=self._next_id, method=method, params=params)
        if session:
            message['sessionId'] = session
        os.write(self._to_browser, json.dumps(message).encode() + b'\0')
        while True:
            reply = self._read_message(timeout)
            if reply.get('id') == self._next_id:
                if 'error' in reply:
                    raise AssertionError(f'{method}: {reply["error"]}')
                return reply['result']
            self.events.append(reply)

    def send(self, method: str, **params) -> dict:
        """A command to the page."""
        return self.call(method, session=self.session, **params)

    def evaluate(self, expression: str):
        result = self.send(
            'Runtime.evaluate', expression=expression, returnByValue=True)
        if 'exceptionDetails' in result:
            raise AssertionError(f'{expression}: {result["exceptionDetails"]}')
        return result['result'].get('value')

    def navigate(self, url: str, timeout: float = 60) -> None:
        self.events.clear()
        self.send('Page.navigate', url=url)
        deadline = time.monotonic() + timeout
        while not any(
                e.get('method') == 'Page.loadEventFired' for e in self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f'{url} did not load in {timeout} s')
            self.events.append(self._read_message(timeout))

    def wait_for(self, expression: str, timeout: float = 60):
        """Poll ``expression`` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f'{expression} still false after '
                                     f'{timeout} s')
            time.sleep(0.2)

    def set_file(self, selector: str, path: str) -> None:
        """Choose ``path`` in the file input ``selector``, as a user does."""
        root = self.send('DOM.getDocument')['root']['nodeId']
        node = self.send(
            'DOM.querySelector', nodeId=root, selector=selector)['nodeId']
        self.send('DOM.setFileInputFiles', files=[path], nodeId=node)

    def screenshot(self, path: str) -> None:
        data = self.send('Page.captureScreenshot', format='png')['data']
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call('Browser.close', timeout=10)
        except AssertionError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
