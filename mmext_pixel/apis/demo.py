"""The embedded demo's pieces (``tools/demo.py``): its options, the log
lines a person follows, the in-process test runs and the ``image | ground
truth | prediction`` panels."""
import io
import os
import os.path as osp
import sys
import warnings
from contextlib import redirect_stdout
from typing import List, Tuple

import cv2
import numpy as np
from mmseg.apis import inference_model

from mmext_pixel.datasets.synthetic_urbanisation import SYNTHETIC_METAINFO
from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import load_config

from .tester import prepare_test, run_test


def demo_options(data_root: str, iters: int,
                 seed: int) -> Tuple[List[str], List[str]]:
    """``--cfg-options`` of the demo's test and training runs.

    Args:
        data_root (str): The synthetic dataset's root, ending in '/'.
        iters (int): Training iterations (also the validation and checkpoint
            interval and the end of the learning-rate schedule).
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
    """What a person follows in a tool's log: the training and evaluation
    lines (mmengine's ``Iter(...)``) and the per-class results table; not
    the config dump, which also mentions the metric."""
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


def evaluate_miou(config: str,
                  checkpoint: str,
                  work_dir: str,
                  cfg_options: dict,
                  log_path: str,
                  aug_test: bool = False) -> float:
    """The val mIoU of ``tools/test.py CONFIG CKPT [--aug-test]``, run in
    this process (:mod:`.tester`).

    Args:
        config (str): The demo config.
        checkpoint (str): The trained weights.
        work_dir (str): The test's work dir.
        cfg_options (dict): Overrides of the config (its data root).
        log_path (str): The run's log (progress lines also on the console).
        aug_test (bool): Test-time augmentation. Defaults to False.
    """
    with warnings.catch_warnings(), redirect_stdout(ProgressTee(log_path)):
        warnings.simplefilter('ignore')  # as PYTHONWARNINGS=ignore
        cfg, dataset = prepare_test(
            load_config(config, cfg_options),
            config,
            checkpoint,
            work_dir,
            aug_test=aug_test)
        return float(run_test(cfg, dataset)['mIoU'])


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
