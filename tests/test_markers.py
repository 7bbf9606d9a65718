"""The markers are honest: an unmarked test cannot start a process (``slow``),
and without the deployment packages their tests are skipped, naming the
install option (``deploy``)."""
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import DEPLOY_PACKAGES, REPO_ROOT, _refuse_processes
from helpers.import_blocker import write_import_blocker


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


@pytest.mark.slow
def test_suite_collects_and_skips_without_deploy_packages(tmp_path):
    """The README's test command after `install.sh --no-deploy`: the
    deployment packages blocked, the whole suite collects, and a deployment
    test is skipped with the option named."""
    blocker = write_import_blocker(tmp_path / 'blocker', DEPLOY_PACKAGES)
    env = dict(
        os.environ,
        PYTHONWARNINGS='ignore',
        PYTHONPATH=os.pathsep.join([blocker, REPO_ROOT]))
    pytest_cmd = [
        sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-n', '0'
    ]
    collect = subprocess.run(
        pytest_cmd + ['--collect-only', '-q', 'tests'],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    assert collect.returncode == 0, collect.stdout[-3000:]
    assert 'error' not in collect.stdout.splitlines()[-1], collect.stdout
    run = subprocess.run(
        pytest_cmd + [
            '-q', '-rs', 'tests/tools/test_benchmark_onnx.py',
            'tests/models/utils/test_adaptive_pool.py'
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    assert run.returncode == 0, run.stdout[-3000:]
    # one module skipped whole, one test of the other; one reason for both
    assert ' passed, 2 skipped in ' in run.stdout.splitlines()[-1], run.stdout
    skipped = [line for line in run.stdout.splitlines() if 'SKIPPED' in line]
    assert len(skipped) == 1, run.stdout
    assert skipped[0].startswith('SKIPPED [2] '), skipped
    assert skipped[0].endswith(
        f'needs {", ".join(DEPLOY_PACKAGES)} (requirements/deploy.txt, '
        'runtime/), which `bash tools/install.sh` installs unless run with '
        '--no-deploy'), skipped
