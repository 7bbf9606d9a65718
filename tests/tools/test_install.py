"""tools/install.sh, one step at a time (the file sourced, a step called).

The torch step runs in a throwaway venv whose ``torch`` is a stand-in with a
version string (the mmcv step's tests: tests/tools/test_install_mmcv.py). The
final check runs in this environment with the pose stack blocked.
"""
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from helpers import install_steps
from helpers.import_blocker import POSE_STACK, write_import_blocker
from helpers.install_steps import (INSTALL_SH, TORCH_VERSION, run_step,
                                   site_packages, step_env, write_fake_torch)

pytestmark = pytest.mark.slow  # every test here starts a process

fake_env = install_steps.fake_env  # the fixture, one venv for the module


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
