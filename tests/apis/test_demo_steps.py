"""mmext_pixel.apis.demo: the demo's options and the log lines it shows
(the demo's command line, and the mIoU its test runs return, are
tests/tools/test_demo.py's)."""
import pytest

from mmext_pixel.apis.demo import ProgressTee, demo_options, is_progress_line


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


def test_progress_tee(tmp_path, capsys):
    """The whole log to the file; only the progress lines, however the
    writes split them, to the console."""
    log = tmp_path / 'test.log'
    tee = ProgressTee(str(log))
    text = ("test_evaluator = dict(type='IoUMetric')\n"
            'Iter(test) [4/4] mIoU: 93.0100\n| road | 9')
    for part in (text[:30], text[30:50], text[50:], '.1 |\n'):
        tee.write(part)
    assert log.read_text() == text + '.1 |\n'
    assert capsys.readouterr().out == ('Iter(test) [4/4] mIoU: 93.0100\n'
                                       '| road | 9.1 |\n')


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
