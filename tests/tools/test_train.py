"""tools/train.py on the demo config and synthetic data: a training, its
resume and its checkpoint, ``--amp`` without CUDA, a GSTO config, and
checkpoints that do not fit, empty or truncated in ``load_from``."""
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool
from helpers import demo_runs
from helpers.demo_runs import (OTHER_CLASSES, TRAIN, broken_files,
                               demo_weights, run_main, run_test_tool, train)

# the fixtures, one instance per module that uses them
trained = demo_runs.trained
other_model = demo_runs.other_model


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
@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')
def test_amp_without_cuda_is_a_clear_error(tmp_path):
    proc = run_tool([TRAIN, DEMO_CONFIG, '--amp'],
                    cwd=str(tmp_path),
                    check=False)
    assert proc.returncode != 0
    assert '--amp needs a CUDA device' in proc.stdout


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
