"""The steps of tools/install.sh, for its tests and those of
tools/install_mmcv.sh (which it sources): a throwaway venv whose ``torch`` is
a stand-in with a version string, and a step called after sourcing the
script."""
import os
import subprocess
import venv
from pathlib import Path

import pytest

from conftest import REPO_ROOT

INSTALL_SH = os.path.join(REPO_ROOT, 'tools', 'install.sh')
TORCH_VERSION = '2.13.0+cu130'


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
