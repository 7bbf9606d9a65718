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

from conftest import DEPLOY_PACKAGES, REPO_ROOT
from helpers.import_blocker import POSE_STACK, write_import_blocker

pytestmark = pytest.mark.slow  # every test here starts a process

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
    write_fake_torch(site, TORCH_VERSION)
    return python


def write_fake_torch(site: Path,
                     version: str,
                     gpu: bool = False,
                     cuda: str = '13.0') -> None:
    """A stand-in ``torch`` in ``site``: a version string, whether it sees a
    GPU and its CUDA version (None for a CPU build)."""
    (site / 'torch').mkdir(exist_ok=True)
    (site / 'torch' / '__init__.py').write_text(
        f'__version__ = {version!r}\n'
        'class cuda:\n'
        f'    is_available = staticmethod(lambda: {gpu!r})\n'
        'class version:\n'
        f'    cuda = {None if version.endswith("+cpu") else cuda!r}\n')


def site_packages(python: Path) -> Path:
    return Path(
        subprocess.run([
            str(python), '-c',
            'import sysconfig; print(sysconfig.get_path("purelib"))'
        ],
                       stdout=subprocess.PIPE,
                       text=True,
                       check=True).stdout.strip())


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


# pip replaced: each call is logged; torch/torchvision "installed" by it are
# stand-ins (torch with $NEW_TORCH as its version); any call naming an index
# fails when $INDEX_DOWN is set, as when PyTorch's index cannot be reached.
STUB_PIP = '''
pip_install() {
    echo "pip install $*" >>"$PIP_LOG"
    case " $* " in
    *" --index-url "*) [ -z "${INDEX_DOWN:-}" ] || return 1 ;;
    esac
    case " $* " in *" torch=="*)
        mkdir -p "$SITE/torch"
        printf '__version__ = "%s"\\n' "$NEW_TORCH" \\
            >"$SITE/torch/__init__.py" ;;
    esac
    case " $* " in *" torchvision=="*)
        mkdir -p "$SITE/torchvision"
        : >"$SITE/torchvision/__init__.py" ;;
    esac
}
'''
CPU_INDEX = 'https://download.pytorch.org/whl/cpu'


def run_torch_step(tmp_path, installed, args, **extra):
    """install_torch after ``parse_args args`` in a fresh venv whose torch is
    ``installed`` (a version; None: no torch), with pip stubbed. Returns
    (exit code, output, the pip calls)."""
    root = tmp_path / 'venv'
    venv.create(root, with_pip=False)
    python = root / 'bin' / 'python'
    site = site_packages(python)
    if installed:
        write_fake_torch(site, installed)
    log = tmp_path / 'pip.log'
    log.touch()
    settings = dict(
        PIP_LOG=str(log),
        SITE=str(site),
        NEW_TORCH='2.13.0+cpu' if '--cpu' in args else '2.13.0+cu130')
    settings.update(extra)
    env = step_env(python, **settings)
    proc = run_step(f'{STUB_PIP}\nparse_args {args}\ninstall_torch', env,
                    tmp_path)
    return proc.returncode, proc.stdout, log.read_text().splitlines()


@pytest.mark.parametrize(
    'installed,args,expected',
    [
        # no torch: the pair from PyTorch's CPU index with --cpu, else PyPI
        (None, '--cpu',
         f'--index-url {CPU_INDEX} torch==2.13.0 torchvision==0.28.0'),
        (None, '--cpu --no-pose', f'--index-url {CPU_INDEX} torch==2.13.0'),
        (None, '', 'torch==2.13.0 torchvision==0.28.0'),
        # a '+cpu' torch: its torchvision from the same index, torch kept
        ('2.13.0+cpu', '', f'--index-url {CPU_INDEX} --no-deps '
         '--force-reinstall torchvision==0.28.*'),
        ('2.12.1+cpu', '--cpu', f'--index-url {CPU_INDEX} --no-deps '
         '--force-reinstall torchvision==0.27.*'),
        # a CUDA torch: its torchvision from PyPI, torch kept
        ('2.13.0+cu130', '', 'torchvision==0.28.*'),
        ('2.13.0+cu130', '--cpu', 'torchvision==0.28.*'),
    ])
def test_torch_and_torchvision_come_as_a_pair(tmp_path, installed, args,
                                              expected):
    rc, out, calls = run_torch_step(tmp_path, installed, args)
    assert rc == 0, out
    assert calls == [f'pip install {expected}'], out


def test_cpu_index_that_cannot_be_reached_is_named(tmp_path):
    rc, out, calls = run_torch_step(tmp_path, None, '--cpu', INDEX_DOWN='1')
    assert rc == 1, out
    assert len(calls) == 1, calls
    assert (f"[install] ERROR: could not install torch==2.13.0 "
            f"torchvision==0.28.0 from PyTorch's CPU wheel index "
            f"{CPU_INDEX} (is it reachable from here?)") in out, out
    # the next step is never reached
    assert 'torchvision does not import' not in out


def test_torchvision_that_does_not_import_suggests_the_cpu_install(tmp_path):
    """A CUDA torch whose torchvision (stubbed as missing after pip) does not
    import: the message names --cpu, not a PyPI reinstall."""
    rc, out, calls = run_torch_step(
        tmp_path, '2.13.0+cu130', '', SITE=str(tmp_path / 'elsewhere'))
    assert rc == 1, out
    assert 'torchvision does not import with the installed torch' in out
    assert 'bash tools/install.sh --cpu' in out
    assert '--force-reinstall torch==' not in out


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


@pytest.mark.parametrize('args,calls', [('', 2), ('--no-deploy', 0)])
def test_deploy_packages_unless_no_deploy(tmp_path, args, calls):
    log = tmp_path / 'pip.log'
    env = dict(step_env(Path(sys.executable)), PIP_LOG=str(log))
    proc = run_step(
        'pip_install() { echo "pip install $*" >>"$PIP_LOG"; }\n'
        f'parse_args {args}\ninstall_deploy', env, tmp_path)
    assert proc.returncode == 0, proc.stdout
    logged = log.read_text().splitlines() if log.exists() else []
    assert logged == [
        f'pip install -r {REPO_ROOT}/requirements/deploy.txt',
        f'pip install -e {REPO_ROOT}/runtime[serve,quantize]'
    ][:calls]


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
