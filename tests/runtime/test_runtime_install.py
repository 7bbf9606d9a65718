"""The runtime installs on its own: a fresh virtual environment (no torch,
mmcv or mmseg) gets ``pip install ./runtime`` from the package index and
segments with an exported model through the ``mmext-pixel-infer`` command."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, import_deploy_package

pytestmark = pytest.mark.slow  # every test here starts a process

runtime = import_deploy_package('mmext_pixel_runtime')


def run(cmd, **kwargs):
    proc = subprocess.run(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        **kwargs)
    return proc


def test_fresh_venv(trained_tiny_onnx, synthetic_root, tmp_path):
    # a copy of the package's folder: pip builds in it and leaves files
    src = tmp_path / 'runtime'
    shutil.copytree(
        osp.join(REPO_ROOT, 'runtime'),
        src,
        ignore=shutil.ignore_patterns('*.egg-info', 'build', '__pycache__'))
    venv = tmp_path / 'venv'
    proc = run([sys.executable, '-m', 'venv', str(venv)])
    assert proc.returncode == 0, proc.stdout
    python = str(venv / 'bin' / 'python')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = run([python, '-m', 'pip', 'install', '-q', str(src)], env=env)
    assert proc.returncode == 0, proc.stdout
    # nothing of the training stack came with it
    for name in ('torch', 'mmcv', 'mmseg', 'mmengine', 'mmext_pixel'):
        proc = run([python, '-c', f'import {name}'], env=env, cwd=tmp_path)
        assert proc.returncode != 0, name
        assert 'ModuleNotFoundError' in proc.stdout
    val = sorted((synthetic_root / 'urbanisation' / 'x' / 'val').glob('*.png'))
    proc = run([
        str(venv / 'bin' / 'mmext-pixel-infer'), trained_tiny_onnx['whole'],
        str(val[0].parent), '--out',
        str(tmp_path / 'out')
    ],
               env=env,
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    model = runtime.Segmenter(trained_tiny_onnx['whole'])
    for path in val:
        labels = cv2.imread(
            str(tmp_path / 'out' / path.name), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(labels, model.predict(path))
    # the library itself, imported there
    proc = run([
        python, '-c', 'import sys; from mmext_pixel_runtime import '
        'Segmenter; m = Segmenter(sys.argv[1]); '
        'print(m.meta.classes, m.predict(sys.argv[2]).shape)',
        trained_tiny_onnx['whole'],
        str(val[0])
    ],
               env=env,
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "('background', 'built-up', 'road') (64, 64)" in proc.stdout
