"""tools/deployment/quantize.py: static int8 of a trained tiny model,
calibrated on its train split; the int8 labels agree with fp32's, the
metadata is carried over and the other tools run the int8 model as is."""
import json
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, import_deploy_package, run_tool

pytestmark = pytest.mark.slow  # every test here starts a process

onnx = import_deploy_package('onnx')
runtime = import_deploy_package('mmext_pixel_runtime')

TOOL = osp.join(REPO_ROOT, 'tools', 'deployment', 'quantize.py')
INFER = osp.join(REPO_ROOT, 'tools', 'deployment', 'onnx_infer.py')


@pytest.fixture(scope='module')
def int8_model(trained_tiny_onnx, synthetic_root, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('int8') / 'whole_int8.onnx')
    root = synthetic_root / 'urbanisation'
    proc = run_tool([
        TOOL, trained_tiny_onnx['whole'], '--calib',
        str(root / 'x' / 'train'), '--num', '12', '--out', out,
        '--eval-images',
        str(root / 'x' / 'val'), '--eval-labels',
        str(root / 'y' / 'val')
    ],
                    cwd=REPO_ROOT,
                    timeout=600)
    return out, proc.stdout


def test_int8_agrees_with_fp32(trained_tiny_onnx, int8_model, synthetic_root):
    int8_file, output = int8_model
    done = re.search(
        r'(\d+) of (\d+) convolutions in int8, calibrated '
        r'\(minmax\) on 12 images', output)
    assert done, output
    assert int(done.group(2)) > 0 and int(done.group(1)) == int(
        done.group(2)), output
    fp32 = runtime.Segmenter(trained_tiny_onnx['whole'])
    int8 = runtime.Segmenter(int8_file)
    assert int8.meta.classes == fp32.meta.classes
    assert int8.meta.preprocess == fp32.meta.preprocess
    assert int8.meta.raw['quantization']['calibration_images'] == 12
    agree, total, classes = 0, 0, set()
    val = synthetic_root / 'urbanisation' / 'x' / 'val'
    for path in sorted(val.glob('*.png')):
        want = fp32.predict(path)
        got = int8.predict(path)
        agree += int((got == want).sum())
        total += want.size
        classes |= set(np.unique(want).tolist())
    assert classes == {0, 1, 2}  # a model that tells the classes apart
    assert agree / total >= 0.98, agree / total
    # the tool's own evaluation reports the same agreement
    line = [ln for ln in output.splitlines() if ln.startswith('int8: mIoU')]
    assert len(line) == 1, output
    assert f'{100 * agree / total:.2f} % of the pixels' in line[0]


def test_onnx_infer_runs_int8(int8_model, synthetic_root, tmp_path):
    int8_file, _ = int8_model
    image = synthetic_root / 'urbanisation' / 'x' / 'val' / 'val_0001.png'
    run_tool([INFER, int8_file,
              str(image), '--out',
              str(tmp_path)],
             cwd=REPO_ROOT,
             timeout=300)
    labels = cv2.imread(str(tmp_path / 'val_0001.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(labels,
                                  runtime.Segmenter(int8_file).predict(image))
    # the metadata entry is the fp32 one plus the quantisation record
    proto = onnx.load(int8_file)
    meta = json.loads({p.key: p.value
                       for p in proto.metadata_props}['mmext_pixel'])
    assert meta['quantization']['format'] == 'QDQ'


def test_errors(trained_tiny_onnx, synthetic_root, tmp_path):
    calib = str(synthetic_root / 'urbanisation' / 'x' / 'train')
    cases = [
        ([
            trained_tiny_onnx['whole'], '--calib',
            str(tmp_path / 'nowhere'), '--out',
            str(tmp_path / 'a.onnx')
        ], f'{tmp_path / "nowhere"}: no such '
         '--calib'),
        ([
            trained_tiny_onnx['whole'], '--calib', calib, '--out',
            trained_tiny_onnx['whole']
        ], '--out would overwrite the fp32 model'),
        ([
            str(tmp_path / 'none.onnx'), '--calib', calib, '--out',
            str(tmp_path / 'b.onnx')
        ], f'{tmp_path / "none.onnx"}: no such '
         'model'),
    ]
    for args, words in cases:
        proc = run_tool([TOOL, *args], cwd=REPO_ROOT, check=False)
        assert proc.returncode != 0
        assert 'Traceback' not in proc.stdout
        assert words in proc.stdout, proc.stdout
