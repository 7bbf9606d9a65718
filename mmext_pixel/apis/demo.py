"""``tools/demo.py``'s pieces: options, progress lines, in-process runs and
``image | ground truth | prediction`` panels."""
import io
import os
import os.path as osp
import sys
import warnings
from contextlib import contextmanager, redirect_stdout
from functools import partial
from typing import Callable, Iterator, List, Tuple

import cv2
import mmengine
import numpy as np
from mmengine.config import DictAction
from mmengine.utils import mkdir_or_exist
from mmseg.apis import inference_model

from mmext_pixel.datasets.synthetic_urbanisation import (
    SYNTHETIC_METAINFO, make_synthetic_urbanisation)
from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import finish_run, load_config

from .tester import prepare_test, run_test
from .trainer import train

# a checkout's root, which holds the configs and the tools
PACKAGE_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(
    PACKAGE_ROOT, 'configs', 'hrnet',
    'fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py')


def demo_options(data_root: str, iters: int,
                 seed: int) -> Tuple[List[str], List[str]]:
    """``--cfg-options`` of the demo's test and training runs.

    Args:
        data_root (str): The synthetic dataset's root, ending in '/'.
        iters (int): Training iterations (also val/checkpoint interval).
        seed (int): The training's random seed.

    Returns:
        tuple[list[str], list[str]]: The data options (every split reads
        ``data_root``) and the training options (those and the schedule).
    """
    data = [
        f'{split}_dataloader.dataset.data_root={data_root}'
        for split in ('train', 'val', 'test')
    ]
    train = data + [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'param_scheduler.0.end={iters}',
        f'default_hooks.checkpoint.interval={iters}', f'randomness.seed={seed}'
    ]
    return data, train


def is_progress_line(line: str) -> bool:
    """mmengine's ``Iter(...)`` lines and the per-class results table of a
    tool's log (not the config dump, which also mentions the metric)."""
    return 'Iter(' in line or line.startswith(('|', '+-'))


class ProgressTee(io.TextIOBase):
    """Writes everything to ``log_path`` and the progress lines
    (:func:`is_progress_line`) to the console as well."""

    def __init__(self, log_path: str):
        # left open: mmengine's logger keeps its stream after the run
        self.log = open(log_path, 'w', buffering=1)
        self.console, self.partial = sys.stdout, ''

    def write(self, text: str) -> int:
        self.log.write(text)
        *lines, self.partial = (self.partial + text).split('\n')
        for line in lines:
            if is_progress_line(line):
                print(line, file=self.console, flush=True)
        return len(text)


@contextmanager
def progress_only(log_path: str) -> Iterator[None]:
    """Logs to ``log_path`` and progress lines to the console as well,
    warnings ignored (as with ``PYTHONWARNINGS=ignore``)."""
    with warnings.catch_warnings(), redirect_stdout(ProgressTee(log_path)):
        warnings.simplefilter('ignore')
        yield


def parse_options(options: List[str]) -> dict:
    """``key=value`` options as ``--cfg-options`` reads them (mmengine's
    ``DictAction``)."""
    return {
        k: DictAction._parse_iterable(v)
        for k, v in (o.split('=', 1) for o in options)
    }


def write_visualizations(cfg_path: str, checkpoint: str, data_root: str,
                         out_dir: str, num: int) -> List[str]:
    """``image | ground truth | prediction`` PNGs of the first ``num`` val
    tiles, predicted by mmseg's ``inference_model``; returns their paths.

    Args:
        cfg_path (str): The demo config.
        checkpoint (str): The trained weights.
        data_root (str): The synthetic dataset's root.
        out_dir (str): Folder of the PNGs (named as the tiles).
        num (int): How many tiles.
    """
    palette = np.array(SYNTHETIC_METAINFO['palette'], np.uint8)
    with warnings.catch_warnings():
        # mmseg's own deprecations while it builds the heads and losses
        warnings.simplefilter('ignore')
        model = build_model(cfg_path, checkpoint)
    img_dir = osp.join(data_root, 'urbanisation', 'x', 'val')
    ann_dir = osp.join(data_root, 'urbanisation', 'y', 'val')
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name in sorted(os.listdir(img_dir))[:num]:
        img = cv2.imread(osp.join(img_dir, name))
        gt = cv2.imread(osp.join(ann_dir, name), cv2.IMREAD_GRAYSCALE)
        pred = inference_model(model, img).pred_sem_seg.data[0].numpy()
        # palette is RGB, cv2 writes BGR
        panels = [img, palette[gt][..., ::-1], palette[pred][..., ::-1]]
        path = osp.join(out_dir, name)
        cv2.imwrite(path, np.concatenate(panels, axis=1))
        written.append(path)
    return written


def run_demo(work_dir: str = 'work_dirs/demo',
             data_root: str = 'data/synthetic',
             iters: int = 600,
             num_visualized: int = 4,
             seed: int = 0,
             log: Callable[[str], None] = print) -> dict:
    """Writes the synthetic dataset if missing, trains and tests (plain and
    ``--aug-test``) the demo config in-process as ``tools/train.py`` and
    ``tools/test.py`` would, and writes the panels and ``summary.json``.

    Args:
        work_dir (str): Checkpoints, logs, panels. Defaults to
            'work_dirs/demo'.
        data_root (str): The synthetic dataset. Defaults to 'data/synthetic'.
        iters (int): Training iterations. Defaults to 600.
        num_visualized (int): Panels written. Defaults to 4.
        seed (int): The dataset's and the training's seed. Defaults to 0.
        log (Callable[[str], None]): Notes on the run. Defaults to print.
    """
    mkdir_or_exist(work_dir)
    data_root = data_root.rstrip('/') + '/'
    if not osp.isdir(osp.join(data_root, 'urbanisation')):
        log(f'writing the synthetic urbanisation dataset to {data_root}')
        make_synthetic_urbanisation(data_root, seed=seed)
    data, train_options = demo_options(data_root, iters, seed)
    tool = partial(osp.join, PACKAGE_ROOT, 'tools')
    log(' '.join([
        '$', sys.executable,
        tool('train.py'), DEMO_CONFIG, '--work-dir', work_dir, '--cfg-options',
        *train_options
    ]))
    with progress_only(osp.join(work_dir, 'train.log')):
        train(
            load_config(DEMO_CONFIG, parse_options(train_options)),
            DEMO_CONFIG, work_dir)
    finish_run()
    checkpoint = osp.join(work_dir, f'iter_{iters}.pth')
    miou = {}
    for aug in (False, True):
        log(' '.join([
            '$', sys.executable,
            tool('test.py'), DEMO_CONFIG, checkpoint, '--work-dir', work_dir,
            *['--aug-test'][:aug], '--cfg-options', *data
        ]))
        with progress_only(
                osp.join(work_dir, 'test_aug.log' if aug else 'test.log')):
            cfg, dataset = prepare_test(
                load_config(DEMO_CONFIG, parse_options(data)),
                DEMO_CONFIG,
                checkpoint,
                work_dir,
                aug_test=aug)
            miou[aug] = float(run_test(cfg, dataset)['mIoU'])
    summary = dict(
        config=osp.relpath(DEMO_CONFIG, PACKAGE_ROOT),
        checkpoint=checkpoint,
        iters=iters,
        val_mIoU=miou[False],
        val_mIoU_aug_test=miou[True],
        visualizations=write_visualizations(DEMO_CONFIG, checkpoint, data_root,
                                            osp.join(work_dir, 'vis'),
                                            num_visualized))
    mmengine.dump(summary, osp.join(work_dir, 'summary.json'), indent=2)
    return summary
