"""The cost of one training step of a segmentation config, against a
baseline config or the official arithmetic of its head; what
``tools/analysis_tools/benchmark_train.py`` measures.

A step is what mmengine's ``train_step`` does: the data preprocessor, the
forward with every loss, the backward and the optimizer's step (the
config's ``optim_wrapper``; ``AmpOptimWrapper`` with ``amp``, CUDA only),
on one synthetic batch (:func:`synthetic_batch`); data loading and
augmentation are excluded. The model is built without weights, SyncBN
reverted to BN (one process).

Peak memory is measured in a fresh process per model (so that the two do
not share a high-water mark): on CUDA ``torch.cuda.max_memory_allocated``
over two steps (weights, gradients, optimizer state and activations); on
the CPU the increase of the process's peak resident memory over two steps
above its resident memory before the first one (activations, gradients and
optimizer state; weights excluded).
"""
import copy
import json
import os
import os.path as osp
import pickle
import subprocess
import sys
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from mmext_pixel.testing.official_heads import (official_head,
                                                training_mode_references)
from mmext_pixel.utils.run_config import SEG_SCOPE, load_config

from .timing import (check_device, load_average, maxrss_mib, report_line,
                     reset_peak_rss, rss_kib, summarise, time_alternately)


def step_settings(cfg: Config, batch: Optional[int],
                  shape: Optional[Sequence[int]]) -> Tuple[int, tuple]:
    """Images per step and crop ``(H, W)`` of a config (or the overrides)."""
    if cfg.default_scope != SEG_SCOPE:
        raise ValueError(f'benchmark_train measures segmentation configs '
                         f'(default_scope mmseg), got {cfg.default_scope}')
    if shape is None:
        shape = cfg.model.data_preprocessor.get('size') or cfg.get('crop_size')
        if shape is None:
            raise KeyError('the config has no model.data_preprocessor.size '
                           'or crop_size; give --shape H W')
    elif cfg.model.data_preprocessor.get('size'):
        # the preprocessor would pad the images back to the config's crop
        cfg.model.data_preprocessor.size = tuple(shape)
    if batch is None:
        batch = cfg.train_dataloader.batch_size
    return int(batch), tuple(int(s) for s in shape)


def has_boundary_targets(cfg: Config) -> bool:
    pipeline = cfg.train_dataloader.dataset.get('pipeline', [])
    return any(step.get('type') == 'GenerateSegBoundary' for step in pipeline)


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


def synthetic_batch(cfg: Config, batch: int, shape: tuple,
                    num_classes: int) -> dict:
    """What the dataloader hands ``train_step``: uint8 images, labels and,
    for Gated-SCNN, the boundary targets."""
    from mmseg.structures import SegDataSample

    from mmext_pixel.datasets.transforms import seg_boundary_map
    gen = torch.Generator().manual_seed(0)
    labels = synthetic_labels(batch, shape, num_classes)
    edges = has_boundary_targets(cfg)
    inputs, samples = [], []
    for label in labels:
        inputs.append(
            torch.randint(
                0, 256, (3, *shape), generator=gen, dtype=torch.uint8))
        sample = SegDataSample(
            metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape))
        sample.gt_sem_seg = PixelData(
            data=torch.from_numpy(label.astype(np.int64))[None])
        if edges:
            edge = seg_boundary_map(label, 2, 255).astype(np.int64)
            sample.gt_edge_map = PixelData(data=torch.from_numpy(edge)[None])
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def build_train_model(cfg: Config, device: str):
    """The config's model (random weights, SyncBN reverted) in train mode."""
    init_default_scope(cfg.default_scope)
    from mmseg.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pretrained = None
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    return model.to(device).train()


def optim_wrapper_for(model, cfg: Config, amp: bool):
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if amp:
        optim_cfg.type = 'AmpOptimWrapper'
        optim_cfg.setdefault('loss_scale', 'dynamic')
    return build_optim_wrapper(model, optim_cfg)


def num_classes_of(cfg: Config) -> int:
    head = cfg.model.decode_head
    if isinstance(head, (list, tuple)):
        head = head[-1]
    return head.num_classes


def model_step(cfg: Config, device: str, amp: bool, batch: int,
               shape: tuple) -> Callable[[], dict]:
    """A closure running one ``train_step`` of the config's model."""
    model = build_train_model(cfg, device)
    wrapper = optim_wrapper_for(model, cfg, amp)
    data = synthetic_batch(cfg, batch, shape, num_classes_of(cfg))

    def step():
        return model.train_step(data, wrapper)

    step.model = model
    step.data = data
    step.optim_wrapper = wrapper
    return step


def sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def peak_memory_of(cfg_path: str,
                   cfg_options: Optional[dict] = None,
                   device: str = 'cpu',
                   amp: bool = False,
                   batch: Optional[int] = None,
                   shape: Optional[Sequence[int]] = None) -> dict:
    """One model's peak memory over two steps (see the module docstring);
    run in a process of its own by :func:`memory_in_subprocess`.

    Args:
        cfg_path (str): The config file.
        cfg_options (dict, optional): Overrides of the config. Defaults to
            None.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to 'cpu'.
        amp (bool): ``AmpOptimWrapper`` (CUDA only). Defaults to False.
        batch (int, optional): Images per step. Defaults to None: the
            config's.
        shape (Sequence[int], optional): Crop ``(H, W)``. Defaults to None:
            the config's.

    Returns:
        dict: ``peak_mib`` and ``kind`` (what the number covers).
    """
    cfg = load_config(cfg_path, cfg_options)
    batch, shape = step_settings(cfg, batch, shape)
    step = model_step(cfg, device, amp, batch, shape)
    sync(device)
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        step()
        step()
        sync(device)
        return dict(
            peak_mib=torch.cuda.max_memory_allocated() / 2**20,
            kind='torch.cuda.max_memory_allocated (weights, gradients, '
            'optimizer state, activations)')
    resettable = reset_peak_rss()
    before = rss_kib()
    before = before / 1024 if before is not None else maxrss_mib()
    step()
    step()
    kind = 'increase of the peak RSS over two steps (weights excluded)'
    if not resettable:
        kind += '; peak not resettable: only what exceeds earlier peaks'
    return dict(peak_mib=max(0.0, maxrss_mib() - before), kind=kind)


def memory_in_subprocess(cfg_path: str,
                         cfg_options: Optional[dict] = None,
                         device: str = 'cpu',
                         amp: bool = False,
                         batch: Optional[int] = None,
                         shape: Optional[Sequence[int]] = None,
                         threads: Optional[int] = None) -> dict:
    """:func:`peak_memory_of` in a fresh Python process, which imports this
    same ``mmext_pixel``; ``threads``: its ``torch.set_num_threads``."""
    settings = dict(
        cfg_path=cfg_path,
        cfg_options=cfg_options,
        device=device,
        amp=amp,
        batch=batch,
        shape=shape)
    package_root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [package_root, env.get('PYTHONPATH', '')])
    proc = subprocess.run([
        sys.executable, '-c',
        'from mmext_pixel.analysis.training_cost import memory_worker; '
        'memory_worker()'
    ],
                          input=pickle.dumps((settings, threads)),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          env=env)
    out = proc.stdout.decode(errors='replace')
    if proc.returncode != 0:
        raise RuntimeError(f'memory measurement of {cfg_path} failed:\n' +
                           out[-3000:])
    return json.loads(out.strip().splitlines()[-1])


def memory_worker() -> None:
    """The process of :func:`memory_in_subprocess`: its settings come on
    stdin, its result goes to the last line of stdout as JSON."""
    settings, threads = pickle.load(sys.stdin.buffer)
    check_device(settings['device'])
    if threads:
        torch.set_num_threads(threads)
    print(json.dumps(peak_memory_of(**settings)))


# ----------------------------------------------------------------- official


def official_steps(cfg: Config, device: str, batch: int,
                   shape: tuple) -> Dict[str, Callable[[], object]]:
    """Our decode head's training step and the official arithmetic's."""
    init_default_scope(cfg.default_scope)
    from mmseg.registry import MODELS
    head = revert_sync_batchnorm(MODELS.build(cfg.model.decode_head))
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
    optimizer = cfg.optim_wrapper.optimizer
    sgd = dict(
        lr=optimizer.lr,
        momentum=optimizer.get('momentum', 0),
        weight_decay=optimizer.get('weight_decay', 0))
    ours_opt = torch.optim.SGD(head.parameters(), **sgd)
    official_opt = torch.optim.SGD(params, **sgd)
    loss_fn = head.loss_decode

    def loss_of(logits):
        logits = F.interpolate(
            logits, shape, mode='bilinear', align_corners=True)
        return loss_fn(logits, labels, ignore_index=255)

    inputs = [None] * head.in_index + [x]

    def ours():
        ours_opt.zero_grad()
        loss_of(head(inputs)).backward()
        ours_opt.step()

    def theirs():
        official_opt.zero_grad()
        with training_mode_references():
            loss = loss_of(official(x))
        loss.backward()
        official_opt.step()

    ours.parameters, theirs.parameters = list(head.parameters()), params
    return dict(model=ours, baseline=theirs)


# ----------------------------------------------------------------- gscnn


def gscnn_extras(step) -> Dict[str, Callable[[], object]]:
    """Boundary targets and the dual-task loss (forward and backward) of the
    step's batch, timed on their own."""
    from mmext_pixel.datasets.transforms import seg_boundary_map
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


# ----------------------------------------------------------------- cost


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
    """Time the config's training step against ``baseline`` or the
    official arithmetic, the steps alternating.

    Gated-SCNN configs also time, in the same rounds, what the method adds
    to a step outside the network (:func:`gscnn_extras`), as a fraction of
    the whole step.

    Args:
        config (str): The config file.
        baseline (str, optional): The counterpart's config file. Defaults
            to None.
        official (bool): The decode head's step against its official
            arithmetic (:func:`official_steps`) instead. Defaults to False.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to 'cpu'.
        amp (bool): ``AmpOptimWrapper`` (CUDA only). Defaults to False.
        iters (int): Timed rounds. Defaults to 5.
        warmup (int): Untimed rounds first. Defaults to 1.
        batch (int, optional): Images per step. Defaults to None: the
            config's ``train_dataloader.batch_size``.
        shape (Sequence[int], optional): Crop ``(H, W)``. Defaults to None:
            the config's.
        threads (int, optional): ``torch.set_num_threads`` here and in the
            memory processes. Defaults to None: as is.
        memory (bool): Measure each model's peak memory in a process of
            its own (not with ``official``). Defaults to True.
        cfg_options (dict, optional): Overrides of both configs. Defaults
            to None.

    Returns:
        dict: The settings, ``load_average`` before and after, ``steps``
        (per runner :func:`summarise`'s numbers, ``images_per_s`` and
        ``memory``), ``ratios`` (model / baseline), for Gated-SCNN
        ``gscnn_added_fraction``, and ``names`` (the runners' report names).
    """
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
    times = time_alternately(runners, iters, warmup, device)
    result = dict(
        config=config,
        baseline='official' if official else baseline,
        device=(torch.cuda.get_device_name() if device == 'cuda' else 'cpu'),
        threads=torch.get_num_threads(),
        amp=amp,
        batch=step_batch,
        shape=list(crop),
        iters=iters,
        warmup=warmup,
        load_average=dict(before=load_before, after=load_average()),
        data_loading='excluded (one synthetic batch)',
        steps={})
    for key, t in times.items():
        stats = summarise(t)
        if key in ('model', 'baseline'):
            stats['images_per_s'] = 1000 * step_batch / stats['median_ms']
        result['steps'][key] = stats
    steps = result['steps']
    if 'baseline' in steps:
        result['ratios'] = {
            stat:
            steps['model'][f'{stat}_ms'] / steps['baseline'][f'{stat}_ms']
            for stat in ('median', 'min')
        }
    if 'dual_task_loss' in steps:
        added = [
            a + b
            for a, b in zip(times['boundary_targets'], times['dual_task_loss'])
        ]
        result['gscnn_added_fraction'] = {
            'median':
            summarise(added)['median_ms'] / steps['model']['median_ms'],
            'min': min(added) / steps['model']['min_ms']
        }
    if memory and not official:
        paths = dict(model=config)
        if baseline:
            paths['baseline'] = baseline
        for key, path in paths.items():
            steps[key]['memory'] = memory_in_subprocess(
                path, cfg_options, device, amp, batch, shape, threads)
        if 'baseline' in paths:
            result['ratios']['peak_memory'] = (
                steps['model']['memory']['peak_mib'] /
                steps['baseline']['memory']['peak_mib'])
    result['names'] = names
    return result


def format_report(result: dict) -> str:
    """:func:`training_cost`'s report: the settings, a line per runner, the
    ratios and Gated-SCNN's added fraction.

    Args:
        result (dict): What :func:`training_cost` returned.
    """
    where = result['device'] + (f', {result["threads"]} thread(s)'
                                if result['device'] == 'cpu' else '')
    lines = [
        f'training step: batch {result["batch"]} x {result["shape"]}, '
        f'{where}, amp {result["amp"]}, {result["iters"]} timed steps '
        f'after {result["warmup"]}; data loading '
        f'{result["data_loading"]}; load average {result["load_average"]}'
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
