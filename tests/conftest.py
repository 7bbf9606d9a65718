import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

import mmext_pixel  # noqa: F401  (registers the components)
from helpers.chromium_cdp import CHROMIUM_SKIP_REASON
from helpers.runtime_server import free_port


def _share_the_cores_between_workers():
    """Under pytest-xdist, give each worker (and the tools it starts) its
    share of the cores: torch's default of one thread per core in every
    worker oversubscribes them, and OpenMP threads then wait on each other
    (measured: a 64x64 HRNet-W48 forward 0.1 s alone, over 5 s so)."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    if workers <= 1:
        return
    import torch
    threads = max(1, (os.cpu_count() or 1) // workers)
    torch.set_num_threads(threads)
    for name in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ.setdefault(name, str(threads))


_share_the_cores_between_workers()

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS_ROOT = osp.join(REPO_ROOT, 'tests')

# The deployment packages (requirements/deploy.txt and the runtime package of
# runtime/): tools/install.sh installs them unless --no-deploy. Tests that
# need them carry the ``deploy`` marker (every test under the folders below
# has it) and are skipped, naming the option, where they are missing.
DEPLOY_PACKAGES = ('onnx', 'onnxruntime', 'mmext_pixel_runtime', 'fastapi',
                   'uvicorn')
DEPLOY_TEST_FOLDERS = ('deployment', 'runtime')
DEPLOY_TEST_PATHS = {
    Path(__file__).parent / name
    for name in DEPLOY_TEST_FOLDERS
}


def missing_packages(names):
    """The names in ``names`` that do not import here."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


MISSING_DEPLOY_PACKAGES = missing_packages(DEPLOY_PACKAGES)
DEPLOY_SKIP_REASON = (
    f'needs {", ".join(MISSING_DEPLOY_PACKAGES or DEPLOY_PACKAGES)} '
    '(requirements/deploy.txt, runtime/), which `bash tools/install.sh` '
    'installs unless run with --no-deploy')


class _SkippedDeployModule(pytest.Module):
    """A test module of the deployment folders where their packages are
    missing: skipped with the install option named, never imported (it
    imports mmext_pixel.deployment or the runtime)."""

    def _getobj(self):
        raise pytest.skip.Exception(
            DEPLOY_SKIP_REASON, allow_module_level=True)


def pytest_pycollect_makemodule(module_path, parent):
    if MISSING_DEPLOY_PACKAGES and module_path.parent in DEPLOY_TEST_PATHS:
        return _SkippedDeployModule.from_parent(parent, path=module_path)
    return None


def import_deploy_package(name):
    """``import name`` for a module-level import of a deployment package;
    without it the whole module is skipped with the install option named."""
    return pytest.importorskip(name, reason=DEPLOY_SKIP_REASON)


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'deploy: needs the deployment packages '
        f'({", ".join(DEPLOY_PACKAGES)})')
    config.addinivalue_line(
        'markers', 'browser: drives Debian\'s headless chromium; skipped '
        'before any fixture is built where it is not installed')
    config.addinivalue_line(
        'markers', 'slow: starts a process (a tool, a training, an '
        'install, a server or a browser) or trains a model (steps of a '
        'shipped config at full width, or many steps); `-m "not slow"` '
        'leaves these out for the edit loop, and an unmarked test that '
        'starts a process fails')


def pytest_collection_modifyitems(config, items):
    deploy_folders = tuple(
        osp.join(TESTS_ROOT, name) + os.sep for name in DEPLOY_TEST_FOLDERS)
    skip = pytest.mark.skip(reason=DEPLOY_SKIP_REASON)
    skip_browser = pytest.mark.skip(reason=CHROMIUM_SKIP_REASON)
    no_chromium = shutil.which('chromium') is None
    for item in items:
        if no_chromium and item.get_closest_marker('browser'):
            item.add_marker(skip_browser)
        if str(item.path).startswith(deploy_folders):
            item.add_marker('deploy')
        if MISSING_DEPLOY_PACKAGES and item.get_closest_marker('deploy'):
            item.add_marker(skip)


DEMO_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'hrnet',
    'fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py')


def load_tool(*parts):
    """The script ``tools/<parts...>`` as a module (tools/ is no package)."""
    path = osp.join(REPO_ROOT, 'tools', *parts)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(parts[-1])[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(args,
             cwd,
             timeout=900,
             check=True,
             launcher=None,
             extra_paths=()):
    """Run a script of tools/ in a fresh interpreter and return its output.

    ``extra_paths`` are put on the tool's PYTHONPATH (after the repo root).
    """
    # dist_train.sh's torchrun rendezvous port: tests run side by side on
    # xdist workers, so each launch takes a free one instead of 29500
    env = dict(os.environ, PYTHONWARNINGS='ignore', PORT=str(free_port()))
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO_ROOT, *extra_paths,
         env.get('PYTHONPATH', '')])
    cmd = (launcher or [sys.executable]) + args
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} exited {proc.returncode}:\n' +
                             proc.stdout[-6000:])
    return proc


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic urbanisation dataset, shared by the session."""
    from mmext_pixel.datasets import make_synthetic_urbanisation
    root = tmp_path_factory.mktemp('synthetic') / 'data'
    make_synthetic_urbanisation(
        str(root), num_train=16, num_val=4, num_test=3, size=64, seed=1)
    return root


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Build transforms and models from mmseg's registries, as its tools do."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')


def built_once(tmp_path_factory, name, build, *args):
    """``build(folder, *args)`` run once for the whole session, whichever
    xdist worker asks first: the others wait on a file lock and take its
    files (the workers' base temps share a parent)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        base = base.parent
    with FileLock(str(base / f'{name}.lock')):
        return build(base, *args)


@pytest.fixture(scope='session')
def tiny_onnx(tmp_path_factory, synthetic_root):
    """The tiny HRNet FCN exported (whole mode) with seeded random weights
    (see helpers/tiny_trained_seg.py): for the tests of files, metadata,
    errors and runtime agreement, which need no training."""
    pytest.importorskip('onnx', reason=DEPLOY_SKIP_REASON)
    from helpers.tiny_trained_seg import untrained_tiny
    return built_once(tmp_path_factory, 'tiny_untrained_seg', untrained_tiny,
                      synthetic_root)


@pytest.fixture(scope='session')
def trained_tiny_onnx(tmp_path_factory, synthetic_root):
    """The same network trained for a few seconds, and its whole and slide
    mode exports: for the tests that need a model that tells the classes
    apart."""
    pytest.importorskip('onnx', reason=DEPLOY_SKIP_REASON)
    from helpers.tiny_trained_seg import trained_tiny
    return built_once(tmp_path_factory, 'tiny_trained_seg', trained_tiny,
                      synthetic_root)


# Commands that return in milliseconds, allowed in the fast tier.
CHEAP_COMMANDS = ('git', 'gcc')  # gcc: mmengine's Runner logs its version


def _refuse_processes(item):
    """While an unmarked test (and the fixtures it builds) runs, starting a
    process fails it, naming the command: the ``slow`` marker then says
    truly which tests start tools, trainings, installs, servers or
    browsers, and ``-m "not slow"`` is the in-process tier."""
    popen_init = subprocess.Popen.__init__

    def refuse(self, args, *rest, **kwargs):
        command = args if isinstance(args, str) else ' '.join(map(str, args))
        if osp.basename(command.split()[0]) in CHEAP_COMMANDS:
            return popen_init(self, args, *rest, **kwargs)
        raise AssertionError(
            f'{item.nodeid} starts a process ({command[:200]}) but has no '
            '@pytest.mark.slow')

    subprocess.Popen.__init__ = refuse
    return popen_init


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield from _without_processes_unless_slow(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield from _without_processes_unless_slow(item)


def _without_processes_unless_slow(item):
    if item.get_closest_marker('slow'):
        yield
        return
    popen_init = _refuse_processes(item)
    try:
        yield
    finally:
        subprocess.Popen.__init__ = popen_init
