"""tools/install.sh, one step at a time (the file sourced, a step called).

The torch and mmcv steps run in a throwaway venv whose ``torch`` is a
stand-in with a version string. The mmcv step gets fake mmcv 2.1.0 wheels (an
``mmcv.ops`` that loads, or one that fails like ops compiled against another
torch), and its 10-minute source build is replaced by copying a prepared
wheel. The final check runs in this environment with the pose stack blocked.
"""
import base64
import hashlib
import os
import os.path as osp
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from helpers.import_blocker import POSE_STACK, write_import_blocker

INSTALL_SH = osp.join(REPO_ROOT, 'tools', 'install.sh')
TORCH_VERSION = '2.13.0+cu130'
PY_TAG = f'cp{sys.version_info[0]}{sys.version_info[1]}'
KEY = f'mmcv2.1.0-torch{TORCH_VERSION}-{PY_TAG}'
OTHER_KEY = f'mmcv2.1.0-torch2.12.0+cpu-{PY_TAG}'
WHEEL = 'mmcv-2.1.0-py3-none-any.whl'
UNDEFINED_SYMBOL = ('/venv/site-packages/mmcv/_ext.cpython-311-x86_64-linux-'
                    'gnu.so: undefined symbol: _ZN3c1017RegisterOperatorsD1Ev')

RUN_MMCV_STEP = '''
build_mmcv_wheel() {  # the source build, replaced
    echo "$1" >>"$BUILD_LOG"
    cp "$BUILT_WHEEL" "$1/"
}
install_mmcv
"$PY" -c 'import mmcv; print("installed:", mmcv.ORIGIN)'
'''


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return 'sha256=' + base64.urlsafe_b64encode(digest).rstrip(b'=').decode()


def fake_mmcv_wheel(folder: Path, origin: str, ops_load: bool) -> Path:
    """An mmcv 2.1.0 wheel whose ``mmcv.ORIGIN`` is ``origin``; its
    ``import mmcv.ops`` fails as with ops built for another torch unless
    ``ops_load``."""
    info = 'mmcv-2.1.0.dist-info'
    files = {
        'mmcv/__init__.py':
        f"__version__ = '2.1.0'\nORIGIN = {origin!r}\n",
        'mmcv/ops/__init__.py':
        '' if ops_load else f'raise ImportError({UNDEFINED_SYMBOL!r})\n',
        f'{info}/METADATA':
        'Metadata-Version: 2.1\nName: mmcv\nVersion: 2.1.0\n',
        f'{info}/WHEEL': ('Wheel-Version: 1.0\nGenerator: mmext_pixel-tests\n'
                          'Root-Is-Purelib: true\nTag: py3-none-any\n'),
    }
    record = ''.join(f'{name},{record_hash(text.encode())},{len(text)}\n'
                     for name, text in files.items())
    files[f'{info}/RECORD'] = record + f'{info}/RECORD,,\n'
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WHEEL
    with zipfile.ZipFile(path, 'w') as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def wheel_origin(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read('mmcv/__init__.py').decode().split("'")[-2]


@pytest.fixture(scope='module')
def fake_env(tmp_path_factory):
    """A venv with a stand-in torch (a version string only) and this
    interpreter's pip, linked in (seconds instead of ensurepip's install)."""
    import pip
    root = tmp_path_factory.mktemp('venv')
    venv.create(root, with_pip=False)
    python = root / 'bin' / 'python'
    site = Path(
        subprocess.run([
            str(python), '-c',
            'import sysconfig; print(sysconfig.get_path("purelib"))'
        ],
                       stdout=subprocess.PIPE,
                       text=True,
                       check=True).stdout.strip())
    (site / 'pip').symlink_to(pip.__path__[0])
    (site / 'torch').mkdir()
    (site / 'torch' /
     '__init__.py').write_text(f'__version__ = {TORCH_VERSION!r}\n')
    return python


def step_env(python: Path, **extra) -> dict:
    """The environment for install.sh steps in the venv of ``python``: no pip
    configuration or index of this machine, no wheelhouse unless given."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith('PIP_') and k not in ('MMEXT_WHEELHOUSE',
                                                  'PYTHONPATH')
    }
    env.update(
        PYTHON=str(python),
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX='1',
        PIP_DISABLE_PIP_VERSION_CHECK='1',
        **extra)
    return env


def run_step(script: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``script`` in bash after sourcing install.sh (its functions)."""
    return subprocess.run(
        ['bash', '-c', f'source "$1"\n{script}', 'test', INSTALL_SH],
        cwd=str(cwd),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)


def run_mmcv_step(fake_env,
                  tmp_path,
                  built_ops_load=True,
                  installed=None,
                  wheelhouse=None):
    """Run install_mmcv with the cache in ``tmp_path/cache``; ``installed``
    (a wheel) is installed first. Returns (exit code, output, build dirs)."""
    env = step_env(
        fake_env,
        MMEXT_WHEEL_CACHE=str(tmp_path / 'cache'),
        BUILD_LOG=str(tmp_path / 'build.log'),
        BUILT_WHEEL=str(
            fake_mmcv_wheel(tmp_path / 'build', 'built', built_ops_load)))
    if wheelhouse:
        env['MMEXT_WHEELHOUSE'] = str(wheelhouse)
    pip = [str(fake_env), '-m', 'pip']
    subprocess.run(
        pip + ['uninstall', '-y', '-q', 'mmcv'],
        env=env,
        check=True,
        capture_output=True)
    if installed:
        subprocess.run(
            pip + ['install', '-q', '--no-deps',
                   str(installed)],
            env=env,
            check=True,
            capture_output=True)
    proc = run_step(RUN_MMCV_STEP, env, tmp_path)
    log = tmp_path / 'build.log'
    builds = log.read_text().split() if log.exists() else []
    return proc.returncode, proc.stdout, builds


def test_wheel_of_another_torch_is_not_used(fake_env, tmp_path):
    cache = tmp_path / 'cache'
    other = fake_mmcv_wheel(cache / OTHER_KEY, 'other torch', ops_load=True)
    # the layout before build keys: one flat folder, whatever the torch
    fake_mmcv_wheel(cache, 'unkeyed', ops_load=True)
    rc, out, builds = run_mmcv_step(fake_env, tmp_path)
    assert rc == 0, out
    assert builds == [str(cache / KEY)], out
    assert out.strip().splitlines()[-1] == 'installed: built', out
    assert wheel_origin(cache / KEY / WHEEL) == 'built'
    assert wheel_origin(other) == 'other torch'  # left alone


def test_cached_wheel_whose_ops_fail_is_rebuilt(fake_env, tmp_path):
    cache = tmp_path / 'cache'
    fake_mmcv_wheel(cache / KEY, 'stale', ops_load=False)
    rc, out, builds = run_mmcv_step(fake_env, tmp_path)
    assert rc == 0, out
    assert 'undefined symbol' in out
    assert builds == [str(cache / KEY)], out
    assert out.strip().splitlines()[-1] == 'installed: built', out
    # the stale wheel was replaced by the build
    assert wheel_origin(cache / KEY / WHEEL) == 'built'


@pytest.mark.parametrize('ops_load', [True, False])
def test_wheelhouse_wheel_is_used_only_if_its_ops_load(fake_env, tmp_path,
                                                       ops_load):
    wheelhouse = tmp_path / 'wheelhouse'
    fake_mmcv_wheel(wheelhouse, 'wheelhouse', ops_load)
    # installed before a torch upgrade: its ops fail now
    before = fake_mmcv_wheel(tmp_path / 'before', 'before', ops_load=False)
    rc, out, builds = run_mmcv_step(
        fake_env, tmp_path, installed=before, wheelhouse=wheelhouse)
    assert rc == 0, out
    assert 'replacing the installed mmcv' in out
    final = out.strip().splitlines()[-1]
    if ops_load:
        assert final == 'installed: wheelhouse', out
        assert builds == []
        assert not (tmp_path / 'cache' / KEY / WHEEL).exists()
    else:
        assert final == 'installed: built', out
        assert builds == [str(tmp_path / 'cache' / KEY)], out
        assert (wheelhouse / WHEEL).exists()  # not ours to delete


def test_installed_mmcv_whose_ops_load_is_kept(fake_env, tmp_path):
    installed = fake_mmcv_wheel(tmp_path / 'pre', 'installed', ops_load=True)
    rc, out, builds = run_mmcv_step(fake_env, tmp_path, installed=installed)
    assert rc == 0, out
    assert builds == []
    assert out.strip().splitlines()[-1] == 'installed: installed', out


def test_build_whose_ops_fail_is_an_error(fake_env, tmp_path):
    rc, out, builds = run_mmcv_step(fake_env, tmp_path, built_ops_load=False)
    assert rc == 1, out
    assert builds == [str(tmp_path / 'cache' / KEY)], out
    last = out.strip().splitlines()[-1]
    assert last.startswith(
        f'[install] ERROR: no mmcv 2.1.0 built into {tmp_path}'), out
    assert 'undefined symbol' in last, out
    # uninstalled again, and not cached
    assert subprocess.run([str(fake_env), '-c', 'import mmcv']).returncode
    assert not (tmp_path / 'cache' / KEY / WHEEL).exists()


def test_no_pose_keeps_torch_without_torchvision(fake_env, tmp_path):
    env = step_env(fake_env)
    proc = run_step('WITH_POSE=0; install_torch', env, tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout == (
        f'[install] keeping installed torch {TORCH_VERSION}\n')
    # with the pose stack the same torch needs its torchvision (none to be
    # had here: no index)
    proc = run_step('WITH_POSE=1; install_torch', env, tmp_path)
    assert proc.returncode != 0
    assert '[install] torch present, adding torchvision==0.28.*' in proc.stdout


def test_unknown_argument_is_an_error():
    proc = subprocess.run(['bash', INSTALL_SH, '--no-poses'],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True)
    assert proc.returncode == 2
    assert "unknown argument '--no-poses'" in proc.stdout


@pytest.mark.parametrize('with_pose', [0, 1])
def test_final_check_needs_the_pose_stack_unless_no_pose(tmp_path, with_pose):
    """The real environment, with the pose stack blocked."""
    blocker = write_import_blocker(tmp_path / 'blocker', POSE_STACK)
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PYTHONWARNINGS='ignore',
        PYTHONPATH=os.pathsep.join([blocker, REPO_ROOT]))
    proc = run_step(f'WITH_POSE={with_pose}; check_install', env, tmp_path)
    last = proc.stdout.strip().splitlines()[-1]
    if with_pose:
        assert proc.returncode != 0
        assert last.startswith('ModuleNotFoundError'), last
        assert 'mmdet' in last
    else:
        assert proc.returncode == 0, proc.stdout
        assert last.startswith('[install] ok: torch'), last
        assert last.endswith('| pose components: no'), last
