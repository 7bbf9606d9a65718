"""tools/train.py and tools/test.py on MMPose top-down heatmap configs.

Two variants run the same tests: a tiny HRNet inheriting mmpose's
``td-hm_hrnet-w32_8xb64-210e_coco-256x192`` config, and a tiny GSTO-HRNet
inheriting our ``configs/gsto_pose`` W32 256x192 config (which reads the data
with ``CheckedCocoDataset``). Each is trained for 2 epochs on a synthetic
stick-figure COCO-keypoints data set
(tests/helpers/synthetic_coco_keypoints.py), on CPU, and the checkpoint is
then tested plainly, with ``--aug-test`` (flip test) and ``--out`` (.pkl
dump), and with ``--show-dir``. The GSTO config is also trained for an
epoch by tools/dist_train.sh in two CPU processes. Every tool run is a
subprocess started from the repository root, as a user would run it.
"""
import json
import math
import os
import os.path as osp
import re
from pathlib import Path

import pytest

from conftest import run_tool
from helpers import synthetic_coco_keypoints as synthetic
from helpers.tiny_gsto import tiny_extra

pytestmark = pytest.mark.slow  # every test here starts a process

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = REPO_ROOT / 'tests'

MAX_EPOCHS = 2
NUM_TRAIN, NUM_VAL = 8, 4
# HRNet's 4th branch works at 1/32 of the input, so both sides of the input
# must be multiples of 32 (64x48 breaks the branch fusion: 1.5 vs 2 cells).
INPUT_W, INPUT_H = 64, 96

VARIANTS = {
    'hrnet':
    dict(
        base='mmpose::body_2d_keypoint/topdown_heatmap/coco/'
        'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
        head_in_channels=8,
        final_conv=('head.final_layer.weight', (17, 8, 1, 1)),
        losses=('loss_kpt', ),
        dataset='CocoDataset'),
    'gsto':
    dict(
        base=str(REPO_ROOT / 'configs' / 'gsto_pose' /
                 'td-hm_gsto-hrnet-w32_8xb64-210e_coco-256x192.py'),
        head_in_channels=(8, 16, 32, 64),
        final_conv=('head.predictor.classifier.weight', (17, 120, 1, 1)),
        losses=('loss_kpt', 'loss_kpt_stage3', 'loss_kpt_stage2'),
        dataset='CheckedCocoDataset'),
}

POSE_CONFIG = '''
_base_ = [{base!r}]
custom_imports = dict(imports={imports!r}, allow_failed_imports=False)

data_root = {data_root!r}
train_cfg = dict(max_epochs={max_epochs}, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, save_best='coco/AP', rule='greater'))
custom_hooks = {custom_hooks}
randomness = dict(seed=0)

codec = dict(
    type='MSRAHeatmap',
    input_size=({input_w}, {input_h}),
    heatmap_size=({heatmap_w}, {heatmap_h}),
    sigma=2)
model = dict(
    backbone=dict(
        extra={extra!r},
        init_cfg=None),  # no pretrained download
    head=dict(in_channels={head_in_channels!r}, out_channels=17,
              decoder=codec),
    # off here, so that --aug-test is what turns it on
    test_cfg=dict(flip_test=False))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='images/train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/person_keypoints_val.json',
        bbox_file=None,  # ground-truth boxes
        data_prefix=dict(img='images/val/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val.json')
test_evaluator = val_evaluator
'''

FLOAT = r'(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|nan|inf)'


def _run(args, log_path):
    proc = run_tool([str(a) for a in args],
                    cwd=REPO_ROOT,
                    timeout=600,
                    check=False)
    Path(log_path).write_text(proc.stdout)
    return proc


def _check_ok(proc, what):
    assert proc.returncode == 0, (
        f'{what} exited with {proc.returncode}:\n{proc.stdout[-6000:]}')


def _test_metrics(output):
    """The metrics of the ``Epoch(test)`` summary line, as floats."""
    lines = [
        ln for ln in output.splitlines()
        if 'Epoch(test)' in ln and 'coco/AP:' in ln
    ]
    assert lines, f'no coco/AP in the test output:\n{output[-6000:]}'
    return {
        k: float(v)
        for k, v in re.findall(r'(coco/[A-Za-z .()0-9]+?):\s*' +
                               FLOAT, lines[-1])
    }


def write_config(path,
                 data_root,
                 variant,
                 max_epochs=MAX_EPOCHS,
                 imports=('mmext_pixel', ),
                 custom_hooks='[]  # SyncBuffersHook is for distributed runs'):
    Path(path).write_text(
        POSE_CONFIG.format(
            base=VARIANTS[variant]['base'],
            imports=list(imports),
            custom_hooks=custom_hooks,
            head_in_channels=VARIANTS[variant]['head_in_channels'],
            data_root=data_root + '/',
            max_epochs=max_epochs,
            input_w=INPUT_W,
            input_h=INPUT_H,
            heatmap_w=INPUT_W // 4,
            heatmap_h=INPUT_H // 4,
            extra=tiny_extra()))
    return path


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return synthetic.make_synthetic_coco_keypoints(
        tmp_path_factory.mktemp('pose_data'),
        NUM_TRAIN,
        NUM_VAL,
        img_size=(160, 128),
        seed=0)


@pytest.fixture(scope='module', params=sorted(VARIANTS))
def setup(request, tmp_path_factory, data):
    variant = request.param
    base = tmp_path_factory.mktemp(f'pose_tools_{variant}')
    cfg_path = write_config(base / f'td-hm_tiny-{variant}_synthetic-coco.py',
                            data['root'], variant)
    with open(data['val']['ann_file']) as f:
        val_ann = json.load(f)
    return dict(
        base=base,
        data=data,
        cfg=cfg_path,
        val_ann=val_ann,
        variant=VARIANTS[variant])


@pytest.fixture(scope='module')
def trained(setup):
    work_dir = setup['base'] / 'train'
    proc = _run(['tools/train.py', setup['cfg'], '--work-dir', work_dir],
                setup['base'] / 'train.log')
    _check_ok(proc, 'tools/train.py')
    return dict(
        proc=proc,
        work_dir=work_dir,
        ckpt=work_dir / f'epoch_{MAX_EPOCHS}.pth')


def _test_run(setup, trained, name, *extra, cfg=None):
    work_dir = setup['base'] / name
    proc = _run([
        'tools/test.py', cfg or setup['cfg'], trained['ckpt'], '--work-dir',
        work_dir, *extra
    ], setup['base'] / f'{name}.log')
    _check_ok(proc, f'tools/test.py {" ".join(map(str, extra))}')
    return dict(proc=proc, work_dir=work_dir)


@pytest.fixture(scope='module')
def plain_test(setup, trained):
    out = setup['base'] / 'plain' / 'preds.pkl'
    run = _test_run(setup, trained, 'plain', '--out', out)
    run['out'] = out
    return run


@pytest.fixture(scope='module')
def flip_test(setup, trained):
    out = setup['base'] / 'flip' / 'preds.pkl'
    run = _test_run(setup, trained, 'flip', '--aug-test', '--out', out)
    run['out'] = out
    return run


def _dumped_config(work_dir, cfg_path):
    from mmengine.config import Config
    return Config.fromfile(str(Path(work_dir) / Path(cfg_path).name))


def _load_predictions(path, val_ann):
    import mmengine
    import numpy as np
    assert Path(path).is_file(), f'--out did not write {path}'
    preds = mmengine.load(str(path))
    assert isinstance(preds, list)
    ann_ids = sorted(a['id'] for a in val_ann['annotations'])
    # top-down with ground-truth boxes: one prediction per val annotation
    assert sorted(int(p['id']) for p in preds) == ann_ids
    by_id = {}
    for p in preds:
        kpts = np.asarray(p['pred_instances']['keypoints'])
        scores = np.asarray(p['pred_instances']['keypoint_scores'])
        assert kpts.shape == (1, 17, 2), kpts.shape
        assert scores.shape == (1, 17), scores.shape
        assert np.isfinite(kpts).all() and np.isfinite(scores).all()
        by_id[int(p['id'])] = (kpts, scores)
    return by_id


def test_train_writes_checkpoint_and_logs_losses(setup, trained):
    import torch
    work_dir, output = trained['work_dir'], trained['proc'].stdout

    ckpt = trained['ckpt']
    assert ckpt.is_file(), sorted(os.listdir(work_dir))
    last = (work_dir / 'last_checkpoint').read_text().strip()
    assert osp.samefile(last, ckpt)
    best = list(work_dir.glob('best_coco_AP_epoch_*.pth'))
    assert len(best) == 1, sorted(os.listdir(work_dir))

    # the tiny model of the config was trained, not the w32 of the base
    import mmext_pixel  # noqa: F401  (safe-loader allow-list)
    state = torch.load(ckpt, map_location='cpu')
    assert state['meta']['epoch'] == MAX_EPOCHS
    weights = state['state_dict']
    key, shape = setup['variant']['final_conv']
    assert tuple(weights[key].shape) == shape
    assert tuple(weights['backbone.conv1.weight'].shape) == (64, 3, 3, 3)

    # one loss per iteration (logger interval 1), finite and decreasing
    iters = math.ceil(sum(1 for _ in _train_instances(setup)) / 2) * MAX_EPOCHS
    losses = [
        float(v)
        for v in re.findall(r'Epoch\(train\).*?\bloss: ' + FLOAT, output)
    ]
    assert len(losses) == iters, (len(losses), iters)
    assert all(math.isfinite(v) and v > 0 for v in losses), losses
    assert losses[-1] < losses[0], losses
    for name in setup['variant']['losses']:
        assert re.search(rf'\b{name}: ' + FLOAT, output), name
    # validation ran every epoch and reported COCO AP
    val_aps = re.findall(r'Epoch\(val\).*?coco/AP: ' + FLOAT, output)
    assert len(val_aps) == MAX_EPOCHS
    assert all(0.0 <= float(v) <= 1.0 for v in val_aps), val_aps


def _train_instances(setup):
    with open(setup['data']['train']['ann_file']) as f:
        return json.load(f)['annotations']


def test_test_prints_coco_ap(setup, plain_test):
    metrics = _test_metrics(plain_test['proc'].stdout)
    for key in ('coco/AP', 'coco/AP .5', 'coco/AP .75', 'coco/AR'):
        assert key in metrics, metrics
        assert 0.0 <= metrics[key] <= 1.0, (key, metrics[key])
    assert 'flip test: off (config)' in plain_test['proc'].stdout
    cfg = _dumped_config(plain_test['work_dir'], setup['cfg'])
    assert cfg.model.test_cfg.flip_test is False
    assert cfg.test_dataloader.dataset.type == setup['variant']['dataset']
    # --out adds mmpose's dump after the COCO metric
    assert [e['type']
            for e in cfg.test_evaluator] == ['CocoMetric', 'DumpResults']
    _load_predictions(plain_test['out'], setup['val_ann'])


def test_aug_test_is_flip_test_and_dumps_predictions(setup, plain_test,
                                                     flip_test):
    import numpy as np
    metrics = _test_metrics(flip_test['proc'].stdout)
    assert 0.0 <= metrics['coco/AP'] <= 1.0, metrics

    assert 'flip test: on (--aug-test)' in flip_test['proc'].stdout
    cfg = _dumped_config(flip_test['work_dir'], setup['cfg'])
    assert cfg.model.test_cfg.flip_test is True
    assert cfg.model.type == 'TopdownPoseEstimator'  # not wrapped for TTA

    flipped = _load_predictions(flip_test['out'], setup['val_ann'])
    plain = _load_predictions(plain_test['out'], setup['val_ann'])
    # averaging with the flipped image's heatmaps changes the scores
    diffs = [np.abs(flipped[i][1] - plain[i][1]).max() for i in plain]
    assert max(diffs) > 1e-6, diffs


# the flip-test switch is the tool's, whatever the model: one variant
@pytest.mark.parametrize('setup', ['hrnet'], indirect=True)
def test_config_flip_test_runs_unless_no_flip_test(setup, trained, plain_test,
                                                   flip_test):
    """A config that turns flip test on (as mmpose's base configs do) gets
    it in a plain test; --no-flip-test turns it off."""
    import numpy as np
    cfg_on = setup['base'] / 'flip_on.py'
    cfg_on.write_text(f"_base_ = [{str(setup['cfg'])!r}]\n"
                      'model = dict(test_cfg=dict(flip_test=True))\n')
    preds = {}
    for name, extra, said in (('config_on', (), 'on (config)'),
                              ('no_flip', ('--no-flip-test', ),
                               'off (--no-flip-test)')):
        out = setup['base'] / name / 'preds.pkl'
        run = _test_run(setup, trained, name, *extra, '--out', out, cfg=cfg_on)
        assert f'flip test: {said}' in run['proc'].stdout
        preds[name] = _load_predictions(out, setup['val_ann'])
    on, off = preds['config_on'], preds['no_flip']
    # the stick figures' left and right differ, so averaging with the
    # mirrored image's (pair-swapped) heatmaps moves keypoints
    assert max(np.abs(on[i][0] - off[i][0]).max() for i in on) > 0
    # the same predictions as --aug-test and as the plain test of the config
    # that turns it off
    aug = _load_predictions(flip_test['out'], setup['val_ann'])
    plain = _load_predictions(plain_test['out'], setup['val_ann'])
    for i in on:
        np.testing.assert_allclose(on[i][0], aug[i][0], rtol=0, atol=1e-5)
        np.testing.assert_allclose(off[i][0], plain[i][0], rtol=0, atol=1e-5)


# mmpose's visualization hook draws whatever the model predicts: one variant
@pytest.mark.parametrize('setup', ['hrnet'], indirect=True)
def test_show_dir_writes_painted_images(setup, trained):
    import cv2
    run = _test_run(setup, trained, 'show', '--show-dir', 'vis')
    # mmpose's hook writes under WORK_DIR/<timestamp>/<show-dir>, one
    # painted image per instance (top-down)
    images = sorted(run['work_dir'].glob('*/vis/*.jpg'))
    assert len(images) == len(setup['val_ann']['annotations']), images
    sizes = {(i['width'], i['height']) for i in setup['val_ann']['images']}
    for path in images:
        img = cv2.imread(str(path))
        assert img is not None, path
        assert (img.shape[1], img.shape[0]) in sizes, (path, img.shape)
    assert 0.0 <= _test_metrics(run['proc'].stdout)['coco/AP'] <= 1.0


def test_dist_train_gsto_on_two_cpu_processes(data, tmp_path):
    """tools/dist_train.sh on the GSTO pose config, as for seg configs: two
    processes on the CPU (gloo) share the data, validation gathers both."""
    from conftest import run_tool
    cfg = write_config(
        tmp_path / 'dist_gsto.py',
        data['root'],
        'gsto',
        max_epochs=1,
        imports=('mmext_pixel', 'helpers.rank_marker_hook'),
        custom_hooks="[dict(type='RankMarkerHook')]")
    work_dir = tmp_path / 'work'
    proc = run_tool(
        ['tools/dist_train.sh',
         str(cfg), '2', '--work-dir',
         str(work_dir)],
        cwd=str(REPO_ROOT),
        launcher=['bash'],
        extra_paths=[str(TESTS_DIR)])
    with open(data['train']['ann_file']) as f:
        instances = len(json.load(f)['annotations'])
    # DefaultSampler: each rank takes ceil(n / 2) instances, batches of 2
    iters = math.ceil(math.ceil(instances / 2) / 2)
    for rank in (0, 1):
        marker = json.loads((work_dir / f'rank_{rank}.json').read_text())
        assert marker == dict(iters=iters, world_size=2), marker
    assert (work_dir / 'epoch_1.pth').is_file()
    assert re.search(r'Epoch\(val\).*?coco/AP: ' + FLOAT, proc.stdout)
