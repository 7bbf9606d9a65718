"""Checkpoints that do not fit, empty and truncated checkpoint files in
tools/test.py and tools/train.py."""
import re
import sys

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from test_train_test import TEST, data_options, train

from conftest import DEMO_CONFIG, load_tool, run_tool
from mmext_pixel.utils.run_config import load_config

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
