"""mmext_pixel.apis.demo: the demo's options, the log lines it shows and
the mIoU it reads (the demo's command line is tests/tools/test_demo.py's)."""
import pytest

from mmext_pixel.apis.demo import demo_options, is_progress_line, last_miou


@pytest.mark.parametrize(
    'line,shown',
    [
        ('12/03 07:33:29 - mmengine - INFO - Iter(train) [ 12/600]  '
         'lr: 2.9e-03  loss: 0.3919\n', True),
        ('12/03 07:39:06 - mmengine - INFO - Iter(test) [24/24]    '
         'aAcc: 63.0000  mIoU: 24.3600\n', True),
        ('+------------+-------+-------+\n', True),
        ('| background | 63.93 | 69.84 |\n', True),
        # the config dump names the metric too
        ("        'mIoU',\n", False),
        ("    iou_metrics=[\n", False),
        ("test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])\n",
         False),
    ])
def test_demo_shows_progress_lines_only(line, shown):
    assert is_progress_line(line) is shown


def test_last_miou():
    log = ('Iter(val) [24/24] aAcc: 90.0000  mIoU: 71.2500\n'
           'Iter(test) [24/24] aAcc: 95.0000  mIoU: 93.0100  mAcc: 96.0\n')
    assert last_miou(log) == 93.01
    with pytest.raises(RuntimeError, match='no mIoU'):
        last_miou('Iter(test) [24/24] aAcc: 95.0000\n')


def test_demo_options():
    data, train = demo_options('data/synthetic/', 8, 3)
    assert data == [
        'train_dataloader.dataset.data_root=data/synthetic/',
        'val_dataloader.dataset.data_root=data/synthetic/',
        'test_dataloader.dataset.data_root=data/synthetic/'
    ]
    assert train == data + [
        'train_cfg.max_iters=8', 'train_cfg.val_interval=8',
        'param_scheduler.0.end=8', 'default_hooks.checkpoint.interval=8',
        'randomness.seed=3'
    ]
