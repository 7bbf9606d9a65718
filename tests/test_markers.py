"""The ``slow`` marker is honest: an unmarked test cannot start a process."""
import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import _refuse_processes


def test_an_unmarked_test_that_starts_a_process_fails():
    item = SimpleNamespace(nodeid='tests/x.py::test_y')
    popen_init = _refuse_processes(item)
    try:
        with pytest.raises(AssertionError) as error:
            subprocess.run([sys.executable, '-c', 'pass'])
        git = subprocess.run(['git', '--version'], stdout=subprocess.PIPE)
    finally:
        subprocess.Popen.__init__ = popen_init
    assert 'tests/x.py::test_y starts a process' in str(error.value)
    assert '@pytest.mark.slow' in str(error.value)
    assert git.returncode == 0  # the cheap commands stay allowed


@pytest.mark.slow
def test_a_slow_test_may_start_one():
    assert subprocess.run([sys.executable, '-c', 'pass']).returncode == 0


def test_this_unmarked_test_runs_with_processes_refused():
    with pytest.raises(AssertionError, match='has no @pytest.mark.slow'):
        subprocess.run([sys.executable, '-c', 'pass'])
