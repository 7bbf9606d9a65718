"""The runtime's installed command lines, each run in a subprocess as a user
runs it: ``--help`` names every default, ``mmext-pixel-quantize`` exits 0
with a one-line summary, ``mmext-pixel-infer`` takes the formats the server
takes and refuses a decompression bomb before decoding it."""
import os
import re
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, import_deploy_package
from helpers.image_bombs import gif

pytestmark = pytest.mark.slow  # every test here starts a process

runtime = import_deploy_package('mmext_pixel_runtime')
import_deploy_package('onnx')

SCRIPTS = ('mmext-pixel-infer', 'mmext-pixel-serve', 'mmext-pixel-quantize')


def run_script(name, *args):
    """The console script ``name`` (this checkout's runtime first on the
    path); stdout and stderr apart."""
    path = shutil.which(name)
    assert path, f'{name} is not installed (pip install -e ./runtime)'
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [os.path.join(REPO_ROOT, 'runtime'),
         env.get('PYTHONPATH', '')])
    return subprocess.run([path, *args],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE,
                          text=True,
                          env=env,
                          timeout=600)


@pytest.mark.parametrize('script', SCRIPTS)
def test_help_names_every_default(script):
    proc = run_script(script, '--help')
    assert proc.returncode == 0, proc.stderr
    # one entry per option: its flags, then its help (wrapped)
    options = proc.stdout.split('options:')[1]
    entries = re.split(r'\n  (?=-)', options)[1:]
    assert len(entries) >= 4, proc.stdout
    for entry in entries:
        text = ' '.join(entry.split())
        if text.startswith('-h, --help'):
            continue
        assert '(default' in text or '(required)' in text, text


def test_quantize_exits_0_with_one_line(trained_tiny_onnx, synthetic_root,
                                        tmp_path):
    out = tmp_path / 'int8.onnx'
    calib = synthetic_root / 'urbanisation' / 'x' / 'train'
    proc = run_script('mmext-pixel-quantize', trained_tiny_onnx['whole'],
                      '--calib', str(calib), '--num', '4', '--out', str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ''
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    done = re.fullmatch(
        rf'{re.escape(str(out))}: (\d+) of (\d+) convolutions in int8, '
        rf'calibrated \(minmax\) on 4 images of {re.escape(str(calib))}',
        lines[0])
    assert done and int(done.group(1)) == int(done.group(2)) > 0, lines[0]
    # GET /model gives the metadata's to_json(): with the int8 record
    entry = runtime.Segmenter(str(out)).meta.to_json()['quantization']
    assert entry['calibration_images'] == 4 and entry['format'] == 'QDQ'
    assert entry['quantized_convs'] == int(done.group(1))


def test_infer_takes_the_server_formats(trained_tiny_onnx, synthetic_root,
                                        tmp_path):
    tile = cv2.imread(
        str(synthetic_root / 'urbanisation' / 'x' / 'val' / 'val_0001.png'))
    folder = tmp_path / 'images'
    folder.mkdir()
    exts = ('.gif', '.webp', '.tif', '.bmp', '.ppm', '.jpg', '.png')
    for ext in exts:
        params = [cv2.IMWRITE_WEBP_QUALITY, 101] if ext == '.webp' else []
        cv2.imwrite(str(folder / f'tile{ext[1:]}{ext}'), tile, params)
    out = tmp_path / 'out'
    proc = run_script('mmext-pixel-infer', trained_tiny_onnx['whole'],
                      str(folder), '--out', str(out))
    assert proc.returncode == 0, proc.stderr
    model = runtime.Segmenter(trained_tiny_onnx['whole'])
    for ext in exts:
        path = folder / f'tile{ext[1:]}{ext}'
        labels = cv2.imread(
            str(out / f'tile{ext[1:]}.png'), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(labels, model.predict(path))
    # a GIF of 29 bytes claiming 30000x30000: refused from its header
    bomb = tmp_path / 'bomb.gif'
    bomb.write_bytes(gif((30000, 30000), [(30000, 30000)]))
    proc = run_script('mmext-pixel-infer', trained_tiny_onnx['whole'],
                      str(bomb), '--out', str(out))
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f'mmext-pixel-infer: error: {bomb}: the image is 30000x30000 = '
        '900000000 pixels; the limit (--max-pixels) is 67108864')
