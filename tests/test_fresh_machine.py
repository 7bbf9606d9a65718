"""The README's test command on a machine without the one optional system
package (Debian's chromium): the page's tests are skipped, saying how to
install it, and the run passes."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from helpers.chromium_cdp import CHROMIUM_SKIP_REASON


@pytest.mark.slow
def test_page_tests_skip_without_chromium(tmp_path):
    path = os.pathsep.join(
        d for d in os.environ['PATH'].split(os.pathsep)
        if not (d and os.path.exists(os.path.join(d, 'chromium'))))
    env = dict(os.environ, PATH=path)
    assert shutil.which('chromium', path=path) is None
    proc = subprocess.run([
        sys.executable, '-m', 'pytest', '-q', '-rs', '-p', 'no:cacheprovider',
        '-n', '0', 'tests/runtime/test_server_page.py'
    ],
                          cwd=REPO_ROOT,
                          env=env,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert ' skipped' in proc.stdout and ' failed' not in proc.stdout
    assert 'apt-get install -y chromium' in CHROMIUM_SKIP_REASON
    assert "Debian's `chromium` package" in CHROMIUM_SKIP_REASON
    # pytest prints each skip reason on one line, possibly shortened
    reasons = [
        line for line in proc.stdout.splitlines() if line.startswith('SKIPPED')
    ]
    assert reasons and all('no `chromium` on PATH' in r for r in reasons)
