"""``benchmark_train.py``: a training step's cost (synthetic batch) against a
baseline config or the official arithmetic of the head."""
import copy
import multiprocessing
import os.path as osp
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmext_pixel.analysis.official_heads import official_head
from mmext_pixel.datasets.transforms import seg_boundary_map
from mmext_pixel.testing.layers import batch_statistics
from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import SEG_SCOPE, load_config

from .timing import (check_device, device_name, load_average, peak_memory,
                     ratios, report_line, time_in_turn, where)


def step_settings(cfg: Config, batch: Optional[int],
                  shape: Optional[Sequence[int]]) -> Tuple[int, tuple]:
    """Images per step and crop (H, W), or the overrides (written into the
    data preprocessor so that it does not pad back)."""
    if cfg.default_scope != SEG_SCOPE:
        raise ValueError(f'benchmark_train measures segmentation configs '
                         f'(default_scope mmseg), got {cfg.default_scope}')
    if shape is None:
        shape = cfg.model.data_preprocessor.get('size') or cfg.get('crop_size')
        if shape is None:
            raise KeyError('the config has no model.data_preprocessor.size '
                           'or crop_size; give --shape H W')
    elif cfg.model.data_preprocessor.get('size'):
        cfg.model.data_preprocessor.size = tuple(shape)
    if batch is None:
        batch = cfg.train_dataloader.batch_size
    return int(batch), tuple(int(s) for s in shape)


def synthetic_labels(batch: int,
                     shape: tuple,
                     num_classes: int,
                     seed: int = 0) -> np.ndarray:
    """Blocky label maps (B, H, W) of ``num_classes``, some void (255)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    cells = rng.integers(0, num_classes, (batch, 8, 16))
    labels = cells.repeat(h // 8 + 1, 1).repeat(w // 16 + 1, 2)[:, :h, :w]
    labels = labels.astype(np.uint8)
    labels[:, -h // 10:] = 255
    return labels


def synthetic_batch(cfg: Config, batch: int, shape: tuple) -> dict:
    """What the dataloader hands ``train_step``: uint8 images, labels and
    (Gated-SCNN) boundary targets."""
    head = cfg.model.decode_head
    head = head[-1] if isinstance(head, (list, tuple)) else head
    gen = torch.Generator().manual_seed(0)
    pipeline = cfg.train_dataloader.dataset.get('pipeline', [])
    edges = any(t.get('type') == 'GenerateSegBoundary' for t in pipeline)
    meta = dict(img_shape=shape, ori_shape=shape, pad_shape=shape)
    out = dict(inputs=[], data_samples=[])
    for label in synthetic_labels(batch, shape, head.num_classes):
        img = torch.randint(0, 256, (3, *shape), generator=gen)
        out['inputs'].append(img.to(torch.uint8))
        sample = SegDataSample(metainfo=meta)
        sample.gt_sem_seg = PixelData(
            data=torch.from_numpy(label)[None].long())
        if edges:
            edge = torch.from_numpy(seg_boundary_map(label, 2, 255)[None])
            sample.gt_edge_map = PixelData(data=edge.long())
        out['data_samples'].append(sample)
    return out


def model_step(cfg: Config,
               device: str,
               amp: bool,
               batch: int = 1,
               shape: tuple = (64, 64),
               data: Optional[dict] = None) -> Callable[[], dict]:
    """A closure running one ``train_step`` on ``data`` (default
    :func:`synthetic_batch`), with ``.model``, ``.data`` and
    ``.optim_wrapper``."""
    model = build_model(cfg, device=device).train()
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if amp:
        optim_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic')
    wrapper = build_optim_wrapper(model, optim_cfg)
    if data is None:
        data = synthetic_batch(cfg, batch, shape)

    def step():
        return model.train_step(data, wrapper)

    step.model, step.data, step.optim_wrapper = model, data, wrapper
    return step


def step_memory(cfg_path: str,
                cfg_options: Optional[dict] = None,
                device: str = 'cpu',
                amp: bool = False,
                batch: Optional[int] = None,
                shape: Optional[Sequence[int]] = None,
                threads: Optional[int] = None) -> dict:
    """``peak_mib`` over two steps (CUDA: ``max_memory_allocated``; CPU:
    the peak RSS's increase) and its ``kind``."""
    if threads:
        torch.set_num_threads(threads)
    check_device(device)
    cfg = load_config(cfg_path, cfg_options)
    step = model_step(cfg, device, amp, *step_settings(cfg, batch, shape))
    memory = peak_memory(lambda: (step(), step()), device)
    if device == 'cuda':
        return dict(
            peak_mib=memory['peak_mib'],
            kind='torch.cuda.max_memory_allocated (weights, gradients, '
            'optimizer state, activations)')
    kind = 'increase of the peak RSS over two steps (weights excluded)'
    if 'not resettable' in memory['kind']:
        kind += '; peak not resettable: only what exceeds earlier peaks'
    return dict(peak_mib=memory['increase_mib'], kind=kind)


def step_memory_alone(cfg_path: str, *args) -> dict:
    """:func:`step_memory` in a spawned process (no shared high-water
    mark)."""
    spawn = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        try:
            return pool.submit(step_memory, cfg_path, *args).result()
        except Exception as e:
            raise RuntimeError(
                f'memory measurement of {cfg_path} failed: {e}') from e


def official_steps(cfg: Config, device: str, batch: int,
                   shape: tuple) -> Dict[str, Callable[[], object]]:
    """Our decode head's training step and the official arithmetic's."""
    head = build_model(
        Config(dict(model=cfg.model.decode_head, default_scope=SEG_SCOPE)))
    head.train()
    # the references compute no dropout (they are written for inference):
    # the step is compared without it on both sides
    head.dropout = None
    official, params, _ = official_head(cfg, head, device)
    head.to(device)
    feat = (shape[0] + 7) // 8, (shape[1] + 7) // 8
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, head.in_channels, *feat, generator=gen).to(device)
    labels = torch.from_numpy(
        synthetic_labels(batch, shape, head.num_classes)).long().to(device)
    opt = cfg.optim_wrapper.optimizer
    sgd = {k: opt.get(k, 0) for k in ('lr', 'momentum', 'weight_decay')}
    inputs = [None] * head.in_index + [x]

    def sgd_step(forward, parameters, context=nullcontext):
        optimizer = torch.optim.SGD(parameters, **sgd)

        def step():
            optimizer.zero_grad()
            with context():
                logits = F.interpolate(
                    forward(), shape, mode='bilinear', align_corners=True)
            head.loss_decode(logits, labels, ignore_index=255).backward()
            optimizer.step()

        step.parameters = parameters
        return step

    return dict(
        model=sgd_step(lambda: head(inputs), list(head.parameters())),
        baseline=sgd_step(lambda: official(x), params, batch_statistics))


def gscnn_extras(step) -> Dict[str, Callable[[], object]]:
    """Gated-SCNN's boundary targets and dual-task loss (forward and
    backward) on the step's batch, to be timed on their own."""
    model, data = step.model, step.data
    head = model.decode_head
    labels = [s.gt_sem_seg.data[0].numpy() for s in data['data_samples']]
    gen = torch.Generator().manual_seed(0)
    device = next(model.parameters()).device
    n = len(labels)
    logits = torch.randn(
        n, head.num_classes, *labels[0].shape, generator=gen).to(device)
    logits.requires_grad_()
    target = torch.from_numpy(np.stack(labels)).long().to(device)

    def boundary_targets():
        for label in labels:
            seg_boundary_map(label, 2, 255)

    def dual_task_loss():
        logits.grad = None
        head.loss_dual(
            logits, target, ignore_index=head.ignore_index).backward()

    return dict(
        boundary_targets=boundary_targets, dual_task_loss=dual_task_loss)


def training_cost(config: str,
                  baseline: Optional[str] = None,
                  official: bool = False,
                  device: str = 'cpu',
                  amp: bool = False,
                  iters: int = 5,
                  warmup: int = 1,
                  batch: Optional[int] = None,
                  shape: Optional[Sequence[int]] = None,
                  threads: Optional[int] = None,
                  memory: bool = True,
                  cfg_options: Optional[dict] = None) -> dict:
    """``benchmark_train.py``'s measurement (arguments: its options): the
    settings, ``load_average``, ``steps``, ``ratios`` (model / baseline),
    ``gscnn_added_fraction`` and ``names``."""
    check_device(device)
    if threads:
        torch.set_num_threads(threads)
    cfg = load_config(config, cfg_options)
    size = step_settings(cfg, batch, shape)
    step_batch, crop = size
    if official:
        runners = official_steps(cfg, device, *size)
        names = dict(model='ours (decode head)', baseline='official head')
    else:
        runners = dict(model=model_step(cfg, device, amp, *size))
        names = dict(model=osp.basename(config))
        if baseline:
            base_cfg = load_config(baseline, cfg_options)
            base_batch, base_shape = step_settings(base_cfg, batch, shape)
            if (base_batch, base_shape) != size:
                raise ValueError(
                    f'{baseline} trains on {base_batch} x {base_shape}, '
                    f'{config} on {step_batch} x {crop}: give --batch and '
                    '--shape to compare them on the same step')
            runners['baseline'] = model_step(base_cfg, device, amp, *size)
            names['baseline'] = osp.basename(baseline)
        if getattr(runners['model'].model.decode_head, 'loss_dual', None):
            runners.update(gscnn_extras(runners['model']))
            names.update(
                boundary_targets='boundary targets',
                dual_task_loss='dual-task loss f+b')
    load_before = load_average()
    steps = time_in_turn(runners, iters, warmup)
    result = dict(
        config=config,
        baseline='official' if official else baseline,
        device=device_name(device),
        threads=torch.get_num_threads(),
        amp=amp,
        batch=step_batch,
        shape=list(crop),
        iters=iters,
        warmup=warmup,
        load_average=dict(before=load_before, after=load_average()),
        data_loading='excluded (one synthetic batch)',
        steps=steps)
    for stats in (steps[k] for k in ('model', 'baseline') if k in steps):
        stats['images_per_s'] = 1000 * step_batch / stats['median_ms']
    if 'baseline' in steps:
        result['ratios'] = ratios(steps['model'], steps['baseline'])
    if 'dual_task_loss' in steps:
        added = [
            a + b for a, b in zip(steps['boundary_targets']['times_ms'],
                                  steps['dual_task_loss']['times_ms'])
        ]
        result['gscnn_added_fraction'] = {
            'median': np.median(added) / steps['model']['median_ms'],
            'min': min(added) / steps['model']['min_ms']
        }
    if memory and not official:
        for key, path in dict(model=config, baseline=baseline).items():
            if path:
                steps[key]['memory'] = step_memory_alone(
                    path, cfg_options, device, amp, batch, shape, threads)
        if baseline:
            result['ratios']['peak_memory'] = (
                steps['model']['memory']['peak_mib'] /
                steps['baseline']['memory']['peak_mib'])
    result['names'] = names
    return result


def format_report(result: dict) -> str:
    """:func:`training_cost`'s report."""
    lines = [
        f'training step: batch {result["batch"]} x {result["shape"]}, '
        f'{where(result["device"], result["threads"])}, amp {result["amp"]}, '
        f'{result["iters"]} timed steps after {result["warmup"]}; data '
        f'loading {result["data_loading"]}; load average '
        f'{result["load_average"]}'
    ]
    for key, stats in result['steps'].items():
        line = report_line(result['names'][key], stats)
        if 'images_per_s' in stats:
            line += f'  {stats["images_per_s"]:.3f} img/s'
        if 'memory' in stats:
            line += f'  peak memory {stats["memory"]["peak_mib"]:.0f} MiB'
        lines.append(line)
    mem = next((s['memory']['kind']
                for s in result['steps'].values() if 'memory' in s), None)
    if mem:
        lines.append(f'  memory: {mem}, each model in its own process')
    for stat, ratio in result.get('ratios', {}).items():
        lines.append(f'ratio model / baseline ({stat}): {ratio:.3f}')
    for stat, frac in result.get('gscnn_added_fraction', {}).items():
        lines.append(f'boundary targets + dual-task loss / step ({stat}): '
                     f'{100 * frac:.1f} %')
    return '\n'.join(lines)
