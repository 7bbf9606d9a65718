"""The source distribution: it carries what setup.py reads (requirements,
for the deploy extra) and what the wheel copies under mmext_pixel/.mim
(configs, tools, model-index.yml), so that a wheel builds from it."""
import os.path as osp
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from conftest import REPO_ROOT


def tracked_files(*patterns):
    out = subprocess.run(['git', 'ls-files', *patterns],
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True,
                         check=True).stdout
    return set(out.split())


@pytest.mark.slow
def test_sdist_builds_a_wheel_with_the_mim_files(tmp_path):
    src = tmp_path / 'src'
    for name in tracked_files():
        dst = src / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(osp.join(REPO_ROOT, name), dst)
    subprocess.run(
        [sys.executable, 'setup.py', '-q', 'sdist', '-d', '../dist'],
        cwd=src,
        check=True,
        capture_output=True)
    (sdist, ) = (tmp_path / 'dist').glob('mmext_pixel-*.tar.gz')
    with tarfile.open(sdist) as tar:
        root = tar.getnames()[0].split('/')[0]
        names = {n.split('/', 1)[1] for n in tar.getnames() if '/' in n}
        tar.extractall(tmp_path / 'unpacked', filter='data')
    expected = tracked_files('requirements', 'configs', 'tools', 'mmext_pixel',
                             'model-index.yml', 'README.md')
    assert 'requirements/deploy.txt' in expected
    assert not expected - names, sorted(expected - names)[:10]

    # setup.py runs from the unpacked sdist (it reads requirements/) and its
    # wheel holds the configs and tools for mim
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-q', '-w',
        str(tmp_path / 'wheel'),
        str(tmp_path / 'unpacked' / root)
    ],
                   check=True,
                   capture_output=True)
    (wheel, ) = (tmp_path / 'wheel').glob('mmext_pixel-*.whl')
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
    for name in tracked_files('configs', 'tools', 'model-index.yml'):
        assert f'mmext_pixel/.mim/{name}' in names, name
