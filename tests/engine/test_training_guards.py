"""What stops a run of tools/train.py and tools/test.py, as a user meets it:
a wrong class count, a diverging loss, a damaged or wrong label map; and
what a killed save or a diverged run leaves for ``--resume``."""
import math
import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import time

import cv2
import pytest
import torch

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool
from helpers.demo_runs import loader_options
from mmext_pixel.engine.diverged_checkpoints import RECORD_NAME, read_record

pytestmark = pytest.mark.slow  # each test runs the tools

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')
RECIPE = osp.join(REPO_ROOT, 'configs', 'hrnet',
                  'fcn_hr18s-v1_1xb3-5e_urbanisation-1024x1024.py')
TESTS = osp.join(REPO_ROOT, 'tests')
ITER = re.compile(r'Iter\(train\) \[\s*(\d+)/\d+\].*?\sloss: (\S+)')


def options(root, iters=2, *extra):
    """Tiny runs of an iteration-based config on the synthetic tree: batch
    2, ``iters`` iterations, a checkpoint every 2, no validation."""
    return loader_options(root) + [
        'train_dataloader.batch_size=2',
        f'train_cfg.max_iters={iters}',
        'train_cfg.val_interval=1000',  # no validation: not what is tested
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1'
    ] + list(extra)


def user_config(tmp_path, root, num_classes):
    """A user's own config: mmseg's bases and our components through
    ``custom_imports`` only (no base of ours, so none of our hooks)."""
    path = tmp_path / 'my_fcn_hr18.py'
    path.write_text(f'''
_base_ = ['mmseg::_base_/models/fcn_hr18.py',
          'mmseg::_base_/default_runtime.py',
          'mmseg::_base_/schedules/schedule_20k.py']
custom_imports = dict(imports=['mmext_pixel'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(num_classes={num_classes}, norm_cfg=norm_cfg))
pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]
def split(name):
    return dict(
        batch_size=2, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='UrbanisationDataset', data_root='{root}/', split=name,
            data_prefix=dict(img_path='urbanisation',
                             seg_map_path='urbanisation'),
            metainfo=dict(
                classes=('background', 'built-up', 'road'),
                palette=[[34, 139, 34], [220, 20, 60], [128, 128, 128]]),
            pipeline=pipeline))
train_dataloader = split('train')
val_dataloader = split('val')
test_dataloader = val_dataloader
del split
val_evaluator = dict(type='IoUMetric')
test_evaluator = val_evaluator
''')
    return str(path)


def assert_stopped_before_training(proc):
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert 'Iter(train)' not in proc.stdout and 'Traceback' not in \
        proc.stdout, proc.stdout[-3000:]


def test_users_config_with_more_classes_than_the_data(tmp_path,
                                                      synthetic_root):
    proc = run_tool([
        TRAIN,
        user_config(tmp_path, synthetic_root, 19), '--work-dir',
        str(tmp_path / 'work')
    ],
                    cwd=str(tmp_path),
                    check=False)
    assert_stopped_before_training(proc)
    assert ('error: class counts disagree' in proc.stdout), proc.stdout
    for line in ('model.decode_head.num_classes=19, but '
                 'train_dataloader.dataset (UrbanisationDataset) has '
                 "classes=3 ('background', 'built-up', 'road')",
                 'model.decode_head.num_classes=19, but '
                 'val_dataloader.dataset (UrbanisationDataset) has '
                 'classes=3'):
        assert line in proc.stdout, proc.stdout[-3000:]
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_recipe_with_19_classes_names_class_weight(tmp_path, synthetic_root):
    """The 2-class urbanisation recipe with ``num_classes=19``: the head
    disagrees with the data, and its 2-entry class_weight with the head.
    (The synthetic tiles hold 3 classes, which the label check would report
    first.)"""
    proc = run_tool(
        [
            TRAIN, RECIPE, '--work-dir',
            str(tmp_path / 'work'), '--no-label-check', '--cfg-options',
            'load_from=None', 'model.decode_head.num_classes=19'
        ] + loader_options(synthetic_root),
        cwd=str(tmp_path),
        check=False)
    assert_stopped_before_training(proc)
    for line in ('model.decode_head.num_classes=19, but '
                 'train_dataloader.dataset (UrbanisationDataset) has '
                 "classes=2 ('non-urban', 'urban')",
                 'model.decode_head.loss_decode.class_weight has 2 entries, '
                 'but model.decode_head.num_classes=19'):
        assert line in proc.stdout, proc.stdout[-3000:]


def test_test_tool_checks_a_users_config(tmp_path, synthetic_root):
    checkpoint = tmp_path / 'any.pth'
    torch.save({'state_dict': {}}, checkpoint)
    proc = run_tool([
        TEST,
        user_config(tmp_path, synthetic_root, 5),
        str(checkpoint), '--work-dir',
        str(tmp_path / 'work')
    ],
                    cwd=str(tmp_path),
                    check=False)
    assert proc.returncode != 0
    assert 'model.decode_head.num_classes=5, but test_dataloader.dataset ' \
        '(UrbanisationDataset) has classes=3' in proc.stdout, \
        proc.stdout[-3000:]
    assert 'Load checkpoint from' not in proc.stdout


def test_diverging_loss_stops_at_first_non_finite_iteration(
        tmp_path, synthetic_root):
    work = tmp_path / 'work'
    proc = run_tool(
        [TRAIN, DEMO_CONFIG, '--work-dir',
         str(work), '--cfg-options'] +
        options(synthetic_root, 12, 'optim_wrapper.optimizer.lr=1e6',
                'default_hooks.checkpoint.interval=1'),
        cwd=str(tmp_path),
        check=False)
    out = proc.stdout
    assert proc.returncode != 0, out[-3000:]
    error = re.search(r'^error: .*iteration (\d+)\b.*$', out, re.M)
    assert error, out[-3000:]
    stopped = int(error.group(1))
    logged = [(int(i), float(v)) for i, v in ITER.findall(out)]
    assert all(abs(v) < float('inf') for _, v in logged)
    if error.group(0).startswith('error: non-finite loss'):
        # the first non-finite loss, with each term and its value, stops
        # the run before it is logged
        assert re.search(r'decode\.loss_ce=(nan|inf|-inf)', error.group(0))
        assert [i for i, _ in logged] == list(range(1, stopped))
    else:
        # a huge but finite loss whose step made the weights non-finite:
        # logged, and its checkpoint refused
        assert "error: the checkpoint's state_dict holds" in error.group(0)
        assert f'after the step of iteration {stopped} (losses loss=' in \
            error.group(0)
        assert [i for i, _ in logged] == list(range(1, stopped + 1))
    assert stopped < 12, 'lr=1e6 did not diverge'
    saved = sorted(work.glob('*.pth'))
    assert saved, out[-3000:]
    for path in saved:
        checkpoint = torch.load(path, map_location='cpu')
        for key, value in checkpoint['state_dict'].items():
            if value.is_floating_point():
                assert torch.isfinite(value).all(), (path, key)
    last = (work / 'last_checkpoint').read_text().strip()
    assert osp.isfile(last) and checkpoint['meta']['iter'] < stopped

    # the checkpoints saved since the loss left its range are recorded, and
    # the message says where --resume goes on
    onset = int(
        re.search(
            r'the loss (?:left its range|was \S+) at '
            r'iteration (\d+)', out).group(1))
    recorded = {e['path']: e['iter'] for e in read_record(str(work))}
    assert recorded, out[-3000:]
    assert all(i >= onset - 1 for i in recorded.values())
    assert {
        p.name
        for p in saved if p.is_file() and str(p.resolve()) in recorded
    } == {f'iter_{i}.pth'
          for i in recorded.values()}
    assert f'are listed in {work}/{RECORD_NAME} and --resume passes over ' \
        'them' in out
    sound = [p for p in saved if str(p.resolve()) not in recorded]
    if sound:
        newest = max(sound, key=lambda p: p.stat().st_mtime_ns)
        assert f'resume from {newest} (tools/train.py --resume takes it)' \
            in out
    else:
        assert 'so tools/train.py --resume starts from the beginning' in out

    # --resume at the config's learning rate passes over them and trains
    # past the iteration that failed
    resumed = run_tool(
        [
            TRAIN, DEMO_CONFIG, '--work-dir',
            str(work), '--resume', '--cfg-options'
        ] + options(synthetic_root, stopped + 1,
                    'default_hooks.checkpoint.interval=1'),
        cwd=str(tmp_path)).stdout
    passed_over = re.search(
        r'resume: passing over (.*): saved while the '
        'loss diverged', resumed)
    assert passed_over, resumed[-3000:]
    assert sorted(
        osp.realpath(p.split(' (iteration')[0])
        for p in passed_over.group(1).split(', ')) == sorted(recorded)
    iterations = [(int(i), float(v)) for i, v in ITER.findall(resumed)]
    assert iterations[-1][0] == stopped + 1, resumed[-3000:]
    assert all(math.isfinite(v) for _, v in iterations)
    if sound:
        assert f'is {newest}; resuming from it instead of' in resumed
        assert 'the config\'s learning rate replaces the one saved' in \
            resumed
        assert iterations[0][0] == int(newest.stem.split('_')[1]) + 1
    else:
        assert 'training starts from the beginning' in resumed
        assert iterations[0][0] == 1


def test_wrong_val_label_stops_before_the_first_step(tmp_path, synthetic_root):
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    wrong = sorted((root / 'urbanisation' / 'y' / 'val').glob('*.png'))[2]
    label = cv2.imread(str(wrong), cv2.IMREAD_UNCHANGED)
    label[5:7, 3:9] = 7
    cv2.imwrite(str(wrong), label)
    args = [
        TRAIN, DEMO_CONFIG, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options'
    ] + options(root, 1)
    proc = run_tool(args, cwd=str(tmp_path), check=False)
    assert_stopped_before_training(proc)
    assert proc.stdout.rstrip().endswith(
        'error: label maps that the run would fail on (1 problem):\n'
        f'  val label {wrong} holds 7; classes are 0..2 and ignore 255'), \
        proc.stdout[-3000:]


def test_damaged_label_map_named_from_a_worker(tmp_path, synthetic_root):
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    labels = sorted((root / 'urbanisation' / 'y' / 'train').glob('*.png'))
    damaged = labels[len(labels) // 2]
    data = damaged.read_bytes()
    damaged.write_bytes(data[:len(data) // 2])
    proc = run_tool(
        [
            TRAIN, DEMO_CONFIG, '--work-dir',
            str(tmp_path / 'work'), '--cfg-options'
        ] + options(root, 1, 'train_dataloader.num_workers=2',
                    f'train_dataloader.batch_size={len(labels)}'),
        cwd=str(tmp_path),
        check=False)
    assert proc.returncode != 0
    assert 'DataLoader worker' in proc.stdout, proc.stdout[-3000:]
    assert f'label map {damaged} does not decode' in proc.stdout, \
        proc.stdout[-3000:]


def test_resume_after_a_save_killed_part_way(tmp_path, synthetic_root):
    work = tmp_path / 'work'
    config = tmp_path / 'slow_save.py'
    config.write_text(
        f'_base_ = [{DEMO_CONFIG!r}]\n'
        "custom_imports = dict(imports=['mmext_pixel', "
        "'helpers.slow_checkpoint_save'], allow_failed_imports=False)\n")
    args = [TRAIN,
            str(config), '--work-dir',
            str(work), '--cfg-options'] + options(synthetic_root, 6)
    marker = tmp_path / 'stalled'
    env = dict(
        os.environ,
        PYTHONWARNINGS='ignore',
        SLOW_SAVE_NAME='iter_4.pth',
        SLOW_SAVE_MARKER=str(marker),
        PYTHONPATH=os.pathsep.join(
            [REPO_ROOT, TESTS,
             os.environ.get('PYTHONPATH', '')]))
    with open(tmp_path / 'first.log', 'w') as log:
        proc = subprocess.Popen(
            [sys.executable] + args,
            cwd=str(tmp_path),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 600
            while not marker.exists() and proc.poll() is None and \
                    time.monotonic() < deadline:
                time.sleep(0.5)
            assert marker.exists(), (tmp_path / 'first.log').read_text()
        finally:
            proc.send_signal(signal.SIGKILL)  # kill -9, half-way through
            proc.wait()
    names = sorted(p.name for p in work.iterdir())
    # the half-written save is no checkpoint; last_checkpoint did not move
    assert 'iter_4.pth' not in names and 'iter_4.pth.part' in names, names
    assert (work / 'last_checkpoint').read_text().strip() == str(work /
                                                                 'iter_2.pth')
    # and a newer checkpoint that does not load, named by last_checkpoint
    good = (work / 'iter_2.pth').read_bytes()
    (work / 'iter_5.pth').write_bytes(good[:len(good) // 3])
    (work / 'last_checkpoint').write_text(str(work / 'iter_5.pth'))

    out = run_tool(
        args[:4] + ['--resume'] + args[4:],
        cwd=str(tmp_path),
        extra_paths=(TESTS, )).stdout
    assert re.search(
        r'WARNING - resume: checkpoint \S*iter_5\.pth does not '
        'load; it is left in place', out), out[-3000:]
    assert 'resumed epoch: 0, iter: 2' in out
    assert [int(i) for i, _ in ITER.findall(out)] == [3, 4, 5, 6]
    assert torch.load(
        work / 'iter_6.pth', map_location='cpu')['meta']['iter'] == 6
    assert (work / 'iter_5.pth').read_bytes() == good[:len(good) // 3]
