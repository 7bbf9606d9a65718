"""tools/train.py, tools/test.py and tools/dist_train.sh on synthetic data,
and checkpoints that do not fit, empty and truncated checkpoint files in
tools/test.py and tools/train.py."""
import json
import os
import os.path as osp
import re
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from conftest import DEMO_CONFIG, REPO_ROOT, load_tool, run_tool
from mmext_pixel.utils.run_config import load_config

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


@pytest.mark.slow
def test_train_writes_checkpoint_and_logs_losses(trained):
    work_dir, out = trained
    assert osp.isfile(work_dir / 'iter_2.pth')
    losses = [float(v) for v in re.findall(r'decode\.loss_ce: ([0-9.]+)', out)]
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert re.search(r'mIoU: [0-9.]+', out)


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')
def test_amp_without_cuda_is_a_clear_error(tmp_path):
    proc = run_tool([TRAIN, DEMO_CONFIG, '--amp'],
                    cwd=str(tmp_path),
                    check=False)
    assert proc.returncode != 0
    assert '--amp needs a CUDA device' in proc.stdout


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


OTHER_CLASSES = 5  # the demo config has 3


def demo_weights(seed=0, **options):
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    model = MODELS.build(load_config(DEMO_CONFIG, options).model)
    return model.state_dict()


@pytest.fixture(scope='module')
def other_model(tmp_path_factory):
    """A checkpoint of the demo model with another class count, one weight
    left out and one foreign weight."""
    base = tmp_path_factory.mktemp('checkpoints')
    weights = demo_weights(**{'model.decode_head.num_classes': OTHER_CLASSES})
    del weights['backbone.conv1.weight']
    weights['neck.extra.weight'] = torch.zeros(2)
    path = base / 'other_model.pth'
    torch.save({'state_dict': weights, 'meta': {}}, path)
    return path


def run_test(ckpt, root, work_dir, *args):
    return run_tool(
        [
            TEST, DEMO_CONFIG,
            str(ckpt), '--work-dir',
            str(work_dir), *args, '--cfg-options'
        ] + data_options(root),
        cwd=str(work_dir.parent),
        check=False)


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


def broken_files(tmp_path):
    """An empty file and a real checkpoint cut in half."""
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    cut = tmp_path / 'cut.pth'
    torch.save({'state_dict': demo_weights(), 'meta': {}}, cut)
    data = cut.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    return [(empty, 'empty file (0 bytes)'),
            (cut, 'truncated or not a torch checkpoint')]


def run_main(monkeypatch, tool, *argv):
    """``tools/<tool>``'s main() in this process, as its command line would
    run it; returns the message it exits with."""
    monkeypatch.setattr(sys, 'argv', [tool, *map(str, argv)])
    monkeypatch.setenv('LOCAL_RANK', '0')  # the tools export it
    with pytest.raises(SystemExit) as exit_:
        load_tool(tool).main()
    return exit_.value.code


def test_broken_checkpoint_files_are_named_by_test(tmp_path, monkeypatch):
    for path, problem in broken_files(tmp_path):
        message = run_main(monkeypatch, 'test.py', DEMO_CONFIG, path,
                           '--work-dir', tmp_path / 'work')
        # a string code: Python prints it and exits with status 1
        assert isinstance(message, str)
        assert message.startswith(f'error: checkpoint {path}: {problem}')


def test_broken_checkpoint_files_are_named_by_train(tmp_path, monkeypatch):
    for path, problem in broken_files(tmp_path):
        message = run_main(monkeypatch, 'train.py', DEMO_CONFIG, '--work-dir',
                           tmp_path / 'work', '--cfg-options',
                           f'load_from={path}')
        assert isinstance(message, str)
        assert message.startswith(f'error: checkpoint {path}: {problem}')


@pytest.mark.slow
def test_train_loads_what_fits_and_says_what_not(other_model, synthetic_root,
                                                 tmp_path):
    """Fine-tuning from a checkpoint with another class count."""
    work_dir = tmp_path / 'work'
    out = train(work_dir, synthetic_root, 1, '--no-validate', '--cfg-options',
                f'load_from={other_model}').stdout
    summary = out[out.index(f'checkpoint {other_model} was loaded partly'):]
    assert summary.splitlines()[1:4] == [
        '2 with another shape: decode_head.conv_seg.weight (checkpoint '
        f'({OTHER_CLASSES}, 240, 1, 1), model (3, 240, 1, 1)), '
        f'decode_head.conv_seg.bias (checkpoint ({OTHER_CLASSES},), model '
        '(3,))',
        '1 missing from the checkpoint: backbone.conv1.weight',
        '1 unexpected (not in the model): neck.extra.weight',
    ]
    assert out.count('was loaded partly') == 1
    assert 'do not match exactly' not in out  # mmengine's own listing
    assert re.search(r'decode\.loss_ce: [0-9.]+', out)
    # the weights that fit were loaded: one AdamW step (at most lr = 3e-3
    # per weight) away from the checkpoint's, where another initialisation
    # is much farther
    source = torch.load(other_model)['state_dict']
    trained = torch.load(work_dir / 'iter_1.pth')['state_dict']
    key = 'backbone.conv2.weight'
    assert (trained[key] - source[key]).abs().max() < 3.5e-3
    assert (source[key] - demo_weights(seed=1)[key]).abs().max() > 3e-2
