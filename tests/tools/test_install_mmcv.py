"""tools/install_mmcv.sh, one step at a time (tools/install.sh, which sources
it, sourced; a step called): the mmcv step in a throwaway venv whose
``torch`` is a stand-in with a version string, given fake mmcv 2.1.0 wheels
(an ``mmcv.ops`` that loads, or one that fails like ops compiled against
another torch), its 10-minute source build replaced by copying a prepared
wheel; the choice of CPU or CUDA ops, and the build's progress lines.
"""
import base64
import hashlib
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from helpers import install_steps
from helpers.install_steps import (TORCH_VERSION, run_step, site_packages,
                                   step_env, write_fake_torch)

pytestmark = pytest.mark.slow  # every test here starts a process

fake_env = install_steps.fake_env  # the fixture, one venv for the module
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


def run_ops_choice(tmp_path, gpu, nvcc=None, force=False):
    """choose_mmcv_ops and mmcv_build_key with a stand-in torch that sees a
    GPU or not and an nvcc of release ``nvcc`` (None: none) in CUDA_HOME."""
    root = tmp_path / 'venv'
    venv.create(root, with_pip=False)
    python = root / 'bin' / 'python'
    write_fake_torch(site_packages(python), TORCH_VERSION, gpu=gpu)
    # the toolkit torch's extension builder would use: CUDA_HOME's (this
    # machine may have one of its own elsewhere)
    cuda_home = tmp_path / 'cuda'
    (cuda_home / 'bin').mkdir(parents=True)
    if nvcc:
        (cuda_home / 'bin' / 'nvcc').write_text(
            '#!/bin/sh\necho "Cuda compilation tools, release '
            f'{nvcc}, V{nvcc}.88"\n')
        (cuda_home / 'bin' / 'nvcc').chmod(0o755)
    env = step_env(python, CUDA_HOME=str(cuda_home))
    env.pop('CUDA_PATH', None)
    script = (f'parse_args {"--mmcv-cuda-ops" if force else ""}\n'
              'choose_mmcv_ops\necho "ops: $MMCV_OPS key: $(mmcv_build_key)"')
    proc = run_step(script, env, tmp_path)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


@pytest.mark.parametrize(
    'gpu,nvcc,force,ops',
    [
        (False, None, False, 'cpu'),  # mmcv builds CPU ops by itself
        (True, None, False, 'cpu'),  # GPU, no nvcc: the GPU is hidden
        (True, '12.4', False, 'cpu'),  # nvcc of another major version
        (True, '13.0', False, 'cuda'),  # matching nvcc: CUDA ops
        (True, None, True, 'cuda'),  # --mmcv-cuda-ops
    ])
def test_mmcv_builds_cpu_ops_without_a_matching_nvcc(tmp_path, gpu, nvcc,
                                                     force, ops):
    out = run_ops_choice(tmp_path, gpu, nvcc, force)
    key = KEY + ('-cudaops' if ops == 'cuda' else '')
    assert out.strip().splitlines()[-1] == f'ops: {ops} key: {key}', out
    if gpu and ops == 'cpu':
        assert ("mmcv: no nvcc matching torch's CUDA 13.0 found "
                f"({'nvcc ' + nvcc if nvcc else 'none'})") in out, out
        assert '--mmcv-cuda-ops forces the CUDA build' in out


@pytest.mark.parametrize('ops', ['cpu', 'cuda'])
def test_cpu_ops_build_hides_the_gpu(tmp_path, ops):
    """The build command runs with CUDA_VISIBLE_DEVICES empty for CPU ops
    and untouched for CUDA ops; progress lines come while it runs."""
    env = dict(
        step_env(Path(sys.executable)),
        CUDA_VISIBLE_DEVICES='0',
        MMEXT_PROGRESS_INTERVAL='1')
    script = (f'MMCV_OPS={ops}\n'
              'pip_with_build_tools() {\n'
              '  sleep 2.5; echo "build sees GPUs: [$CUDA_VISIBLE_DEVICES]"\n'
              '  echo "build args: $*"\n'
              '}\n'
              'build_mmcv_wheel /wheels/here\n'
              'echo "after: [$CUDA_VISIBLE_DEVICES]"\n')
    proc = run_step(script, env, tmp_path)
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    seen = '' if ops == 'cpu' else '0'
    assert f'build sees GPUs: [{seen}]' in lines, proc.stdout
    assert 'after: [0]' in lines  # the script's own environment is kept
    assert any('-w /wheels/here mmcv==2.1.0' in line for line in lines)
    progress = [line for line in lines if 'building mmcv 2.1.0:' in line]
    assert progress[:2] == [
        '[install] building mmcv 2.1.0: 0 min 1 s elapsed',
        '[install] building mmcv 2.1.0: 0 min 2 s elapsed'
    ], proc.stdout
    # the ticker stops with the build
    assert lines.index(
        progress[-1]) < lines.index(f'build sees GPUs: [{seen}]')


def test_failed_build_exit_status_passes_through_progress(tmp_path):
    env = dict(step_env(Path(sys.executable)), MMEXT_PROGRESS_INTERVAL='1')
    proc = run_step('with_progress "x" bash -c "exit 3" || echo "rc $?"', env,
                    tmp_path)
    assert proc.stdout.strip().splitlines()[-1] == 'rc 3', proc.stdout
