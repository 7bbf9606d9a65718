"""tools/train.py, tools/test.py and tools/dist_train.sh on synthetic data."""
import json
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool

pytestmark = pytest.mark.slow  # every test here starts a process

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')


def data_options(root):
    return [
        f'{split}_dataloader.dataset.data_root={root}/'
        for split in ('train', 'val', 'test')
    ] + [
        'model.data_preprocessor.size=(64,64)',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=2'
    ]


def train(work_dir, root, iters, *args, config=DEMO_CONFIG):
    """tools/train.py (by default on the demo config) for ``iters``
    iterations."""
    options = data_options(root) + [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1'
    ]
    return run_tool(
        [TRAIN, config, '--work-dir',
         str(work_dir), *args, '--cfg-options'] + options,
        cwd=str(work_dir.parent))


def run_test_tool(work_dir, root, name, *args, options=(), config=DEMO_CONFIG):
    """tools/test.py on iter_2.pth, its work dir ``work_dir/name``."""
    return run_tool(
        [
            TEST, config,
            str(work_dir / 'iter_2.pth'), '--work-dir',
            str(work_dir / name), *args, '--cfg-options'
        ] + data_options(root) + list(options),
        cwd=str(work_dir.parent))


@pytest.fixture(scope='module')
def trained(tmp_path_factory, synthetic_root):
    work_dir = tmp_path_factory.mktemp('train') / 'work'
    out = train(work_dir, synthetic_root, 2).stdout
    return work_dir, out


def test_train_writes_checkpoint_and_logs_losses(trained):
    work_dir, out = trained
    assert osp.isfile(work_dir / 'iter_2.pth')
    losses = [float(v) for v in re.findall(r'decode\.loss_ce: ([0-9.]+)', out)]
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert re.search(r'mIoU: [0-9.]+', out)


def test_resume_continues_at_saved_iteration(trained, synthetic_root):
    work_dir, _ = trained
    saved = torch.load(work_dir / 'iter_2.pth', map_location='cpu')
    out = train(work_dir, synthetic_root, 4, '--resume').stdout
    assert 'resumed epoch: 0, iter: 2' in out
    iters_logged = [
        int(i) for i in re.findall(r'Iter\(train\) \[\s*(\d+)/4\]', out)
    ]
    assert iters_logged == [3, 4]
    resumed = torch.load(work_dir / 'iter_4.pth', map_location='cpu')
    assert resumed['meta']['iter'] == 4
    # AdamW's per-parameter step counter went on from the saved state: a
    # fresh optimizer would be at 2 after two more steps.
    saved_steps = {
        int(v['step'])
        for v in saved['optimizer']['state'].values()
    }
    resumed_steps = {
        int(v['step'])
        for v in resumed['optimizer']['state'].values()
    }
    assert saved_steps == {2} and resumed_steps == {4}


def test_load_from_checkpoint_written_by_training(trained):
    from mmext_pixel.utils.safe_load import MMENGINE_CHECKPOINT_GLOBALS
    work_dir, _ = trained
    ckpt = torch.load(work_dir / 'iter_2.pth', map_location='cpu')  # safe
    assert 'message_hub' in ckpt and 'state_dict' in ckpt
    # the allow-list is exact: a foreign global is still refused
    bad = work_dir / 'bad.pth'
    torch.save({'callback': os.system},
               bad,
               _use_new_zipfile_serialization=True)
    with pytest.raises(Exception, match='os.system|posix.system|system'):
        torch.load(bad)
    assert os.system not in MMENGINE_CHECKPOINT_GLOBALS


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


def test_dist_train_two_processes_on_cpu(tmp_path, synthetic_root):
    cfg = tmp_path / 'dist_cfg.py'
    cfg.write_text(f"_base_ = '{DEMO_CONFIG}'\n"
                   "custom_imports = dict(imports=['mmext_pixel', "
                   "'helpers.rank_marker_hook'], allow_failed_imports=False)\n"
                   "custom_hooks = [dict(type='RankMarkerHook')]\n")
    work_dir = tmp_path / 'work'
    proc = run_tool(
        [
            osp.join(REPO_ROOT, 'tools', 'dist_train.sh'),
            str(cfg), '2', '--work-dir',
            str(work_dir), '--cfg-options'
        ] + data_options(synthetic_root) + [
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2'
        ],
        cwd=str(tmp_path),
        launcher=['bash'],
        extra_paths=[osp.join(REPO_ROOT, 'tests')])
    assert 'world_size: 2' in proc.stdout or 'Distributed launcher: pytorch' \
        in proc.stdout
    for rank in (0, 1):
        marker = json.loads((work_dir / f'rank_{rank}.json').read_text())
        assert marker == dict(iters=2, world_size=2)
    assert osp.isfile(work_dir / 'iter_2.pth')


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')
def test_amp_without_cuda_is_a_clear_error(tmp_path):
    proc = run_tool([TRAIN, DEMO_CONFIG, '--amp'],
                    cwd=str(tmp_path),
                    check=False)
    assert proc.returncode != 0
    assert '--amp needs a CUDA device' in proc.stdout


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


def test_gsto_config_trains_and_aug_tests(tmp_path, synthetic_root):
    """The stock runner trains GSTO-HRNet with its deep supervision, and
    --aug-test (mmseg's SegTTAModel) evaluates it."""
    config = osp.join(
        REPO_ROOT, 'configs', 'gsto',
        'gsto_hrnet-w18s_1xb8-600_synthetic-urbanisation-'
        '128x128.py')
    work_dir = tmp_path / 'work'
    out = train(work_dir, synthetic_root, 2, config=config).stdout
    for key in ('decode.loss_ce', 'aux.stage3.loss_ce', 'aux.stage2.loss_ce'):
        values = re.findall(re.escape(key) + r': ([0-9.]+)', out)
        assert len(values) == 2 and all(np.isfinite(float(v)) for v in values)
    out = run_test_tool(
        work_dir,
        synthetic_root,
        'aug',
        '--aug-test',
        '--aug-scales',
        '0.75',
        '1.0',
        config=config).stdout
    assert re.search(r'mIoU: [0-9.]+', out)
    dumped = Config.fromfile(work_dir / 'aug' / osp.basename(config))
    assert dumped.model.type == 'SegTTAModel'
    assert dumped.model.module.backbone.type == 'GSTOHRNet'
