"""A tiny HRNet FCN on the synthetic urbanisation data and its ONNX exports
(whole and slide mode), shared by the deployment, runtime, server and
quantisation tests of one pytest session (the session fixtures
``tiny_onnx`` and ``trained_tiny_onnx`` of tests/conftest.py).

``trained_tiny`` trains it for a few seconds with tools/train.py, for the
tests that need a model that tells the classes apart; ``untrained_tiny``
exports the same network with seeded random weights (and class scores that
vary with the pixel), for the tests of files, metadata, errors and the
agreement of two runtimes, which any weights show.
"""
import copy
import os
import subprocess
import sys
from pathlib import Path

from .tiny_gsto import TINY_CHANNELS, tiny_extra

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_CONFIG = (
    REPO_ROOT / 'configs' / 'hrnet' /
    'fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py')
ITERS = 400
CONFIG = '''_base_ = {base!r}
data_root = {root!r}
model = dict(
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(extra={extra!r}),
    decode_head=dict(in_channels={channels!r}, channels={sum_channels}))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_iters={iters}, val_interval={iters})
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end={iters},
         by_epoch=False)
]
default_hooks = dict(
    checkpoint=dict(interval={iters}), logger=dict(interval=20))
randomness = dict(seed=0)
'''


def trained_tiny(base_temp: Path, data_root: Path) -> dict:
    """Train (once per session: the result is kept under ``base_temp``) and
    export the tiny model.

    Returns:
        dict: ``config``, ``checkpoint``, ``whole`` (dynamic whole-mode
        ONNX) and ``slide`` (the same weights, 40x40 crops every 24 px).
    """
    work = base_temp / 'tiny_trained_seg'
    files = dict(
        config=work / 'tiny.py',
        checkpoint=work / f'iter_{ITERS}.pth',
        whole=work / 'whole.onnx',
        slide=work / 'slide.onnx')
    if all(p.exists() for p in files.values()):
        return {k: str(v) for k, v in files.items()}
    work.mkdir(exist_ok=True)
    if not files['checkpoint'].exists():
        train(files['config'], work, data_root)
    from mmext_pixel.deployment import export_onnx
    from mmext_pixel.utils.run_config import load_config
    cfg = load_config(str(files['config']))
    export_onnx(
        copy.deepcopy(cfg),
        str(files['checkpoint']), (64, 64),
        str(files['whole']),
        dynamic=True)
    slide = copy.deepcopy(cfg)
    slide.model.test_cfg = dict(
        mode='slide', crop_size=(40, 40), stride=(24, 24))
    export_onnx(
        slide,
        str(files['checkpoint']), (40, 40),
        str(files['slide']),
        dynamic=True)
    return {k: str(v) for k, v in files.items()}


def write_config(config: Path, data_root: Path) -> None:
    """The tiny model's config, reading ``data_root``."""
    config.write_text(
        CONFIG.format(
            base=str(BASE_CONFIG),
            root=str(data_root) + '/',
            extra=tiny_extra(),
            channels=list(TINY_CHANNELS),
            sum_channels=sum(TINY_CHANNELS),
            iters=ITERS))


def untrained_tiny(base_temp: Path, data_root: Path) -> dict:
    """Export the tiny model with seeded random weights (once per session).

    Returns:
        dict: ``config`` and ``whole`` (dynamic whole-mode ONNX).
    """
    import torch

    from mmext_pixel.deployment import export_onnx
    from mmext_pixel.utils.model_builder import build_model
    work = base_temp / 'tiny_untrained_seg'
    files = dict(config=work / 'tiny.py', whole=work / 'whole.onnx')
    if all(p.exists() for p in files.values()):
        return {k: str(v) for k, v in files.items()}
    work.mkdir(exist_ok=True)
    write_config(files['config'], data_root)
    torch.manual_seed(0)
    model = build_model(str(files['config']))
    with torch.no_grad():
        # scores that vary with the pixel, so that every class wins somewhere
        model.decode_head.conv_seg.weight.normal_(0, 1.)
    export_onnx(model, None, (64, 64), str(files['whole']), dynamic=True)
    return {k: str(v) for k, v in files.items()}


def train(config: Path, work: Path, data_root: Path) -> None:
    """Write the tiny config and train it with tools/train.py."""
    write_config(config, data_root)
    # one thread: a tiny model gains nothing from more, and on a loaded
    # machine OpenMP threads waiting for each other cost many times the work
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONWARNINGS='ignore')
    proc = subprocess.run([
        sys.executable,
        str(REPO_ROOT / 'tools' / 'train.py'),
        str(config), '--work-dir',
        str(work)
    ],
                          cwd=str(REPO_ROOT),
                          env=env,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:]
