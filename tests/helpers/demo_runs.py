"""tools/train.py and tools/test.py on the demo config and the synthetic
data, for the command-line tests of tests/tools/ (test_train.py, test_test.py,
test_dist_train.py): the data options, a 2-iteration training and a test run
of its checkpoint, and the checkpoint of another model (another class count,
one weight missing, one foreign)."""
import sys

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from conftest import DEMO_CONFIG, REPO_ROOT, load_tool, run_tool
from mmext_pixel.utils.run_config import load_config

TRAIN = f'{REPO_ROOT}/tools/train.py'
TEST = f'{REPO_ROOT}/tools/test.py'
OTHER_CLASSES = 5  # the demo config has 3


def loader_options(root):
    """``--cfg-options`` for the synthetic tree at ``root``, loaded without
    workers."""
    opts = [
        f'{split}_dataloader.dataset.data_root={root}/'
        for split in ('train', 'val', 'test')
    ]
    for split in ('train', 'val', 'test'):
        opts += [
            f'{split}_dataloader.num_workers=0',
            f'{split}_dataloader.persistent_workers=False'
        ]
    return opts


def data_options(root):
    return loader_options(root) + [
        'model.data_preprocessor.size=(64,64)', 'train_dataloader.batch_size=2'
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
