"""tools/test.py on a checkpoint of the demo config: plain and
``--aug-test``, an unlabelled split's predictions, ``--show-dir``, and
checkpoints that do not fit (``--allow-partial``), empty or truncated."""
import os
import os.path as osp
import re

import cv2
import pytest
from mmengine.config import Config

from conftest import DEMO_CONFIG
from helpers import demo_runs
from helpers.demo_runs import (OTHER_CLASSES, broken_files, run_main, run_test,
                               run_test_tool)

# the fixtures, one instance per module that uses them
trained = demo_runs.trained
other_model = demo_runs.other_model


@pytest.mark.slow
def test_plain_and_aug_test(trained, synthetic_root):
    work_dir, _ = trained
    plain = run_test_tool(work_dir, synthetic_root, 'plain').stdout
    aug = run_test_tool(work_dir, synthetic_root, 'aug', '--aug-test',
                        '--aug-scales', '0.75', '1.0').stdout
    for out in (plain, aug):
        assert 'test split has labels: 4 samples, evaluating with IoUMetric' \
            in out
    miou = [float(v) for v in re.findall(r'mIoU: ([0-9.]+)', plain)]
    miou_aug = [float(v) for v in re.findall(r'mIoU: ([0-9.]+)', aug)]
    assert len(miou) == 1 and 0 <= miou[0] <= 100
    assert len(miou_aug) == 1 and 0 <= miou_aug[0] <= 100
    dumped = Config.fromfile(
        work_dir / 'aug' /
        'fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py')
    assert dumped.model.type == 'SegTTAModel'
    tta = dumped.test_dataloader.dataset.pipeline[1]
    assert tta.type == 'TestTimeAug'
    assert [t.scale_factor for t in tta.transforms[0]] == [0.75, 1.0]
    assert [t.prob for t in tta.transforms[1]] == [0.0, 1.0]


@pytest.mark.slow
def test_unlabelled_test_split_writes_predictions(trained, synthetic_root):
    work_dir, _ = trained
    out_dir = work_dir / 'preds'
    out = run_test_tool(
        work_dir,
        synthetic_root,
        'unlabelled',
        '--out',
        str(out_dir),
        options=[
            'test_dataloader.dataset.ann_file=list/urbanisation/test.lst'
        ]).stdout
    assert f'test split has no labels: predictions are written to {out_dir}' \
        in out
    written = sorted(os.listdir(out_dir))
    images = sorted(os.listdir(synthetic_root / 'urbanisation' / 'x' / 'test'))
    assert written == images
    for name in written:
        pred = cv2.imread(str(out_dir / name), cv2.IMREAD_UNCHANGED)
        assert pred.shape == (64, 64) and pred.max() < 3


@pytest.mark.slow
def test_show_dir_writes_painted_predictions(trained, synthetic_root):
    work_dir, _ = trained
    show_dir = work_dir / 'shown'
    run_test_tool(work_dir, synthetic_root, 'show', '--show-dir',
                  str(show_dir))
    painted = [
        osp.join(d, f) for d, _, files in os.walk(show_dir) for f in files
        if f.endswith('.png')
    ]
    val_images = os.listdir(synthetic_root / 'urbanisation' / 'x' / 'val')
    assert len(painted) == len(val_images)
    # mmseg draws image and prediction side by side
    assert cv2.imread(painted[0]).shape == (64, 128, 3)


@pytest.mark.slow
def test_checkpoint_of_another_model_stops_the_test(other_model,
                                                    synthetic_root, tmp_path):
    proc = run_test(other_model, synthetic_root, tmp_path / 'work')
    assert proc.returncode != 0
    assert f'error: checkpoint {other_model} does not fit the model:\n' \
        '2 with another shape: decode_head.conv_seg.weight (checkpoint ' \
        f'({OTHER_CLASSES}, 240, 1, 1), model (3, 240, 1, 1)), ' \
        'decode_head.conv_seg.bias (checkpoint ' \
        f'({OTHER_CLASSES},), model (3,))\n' \
        '1 missing from the checkpoint: backbone.conv1.weight\n' \
        '1 unexpected (not in the model): neck.extra.weight' in proc.stdout
    assert not re.search(r'mIoU: [0-9.]+', proc.stdout)


@pytest.mark.slow
def test_allow_partial_loads_what_fits(other_model, synthetic_root, tmp_path):
    proc = run_test(other_model, synthetic_root, tmp_path / 'work',
                    '--allow-partial')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f'checkpoint {other_model} was loaded partly' in proc.stdout
    assert '1 missing from the checkpoint: backbone.conv1.weight' \
        in proc.stdout
    # the one summary, not mmengine's listing of every key besides it
    assert 'do not match exactly' not in proc.stdout
    assert 'test split has labels: 4 samples, evaluating with IoUMetric' \
        in proc.stdout
    assert re.search(r'mIoU: [0-9.]+', proc.stdout)


def test_broken_checkpoint_files_are_named_by_test(tmp_path, monkeypatch):
    for path, problem in broken_files(tmp_path):
        message = run_main(monkeypatch, 'test.py', DEMO_CONFIG, path,
                           '--work-dir', tmp_path / 'work')
        # a string code: Python prints it and exits with status 1
        assert isinstance(message, str)
        assert message.startswith(f'error: checkpoint {path}: {problem}')
