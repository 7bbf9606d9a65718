"""Does every method's main config train and test on this machine, how
fast, in how much memory: the steps of ``tools/gpu_check.py``, the configs
they run (shrunk for ``smoke``) and the synthetic data they read.

For each method's main config (:data:`METHODS`) :func:`check_method` runs,
in order (:data:`STEPS`):

``train_fp32``
    ``iters`` training steps (mmengine's ``train_step``: forward, losses,
    backward, optimizer step) at the config's crop and per-GPU batch, in
    float32; every loss must stay finite.
``train_amp``
    The same with mmengine's ``AmpOptimWrapper`` (float16 autocast, dynamic
    loss scale). Skipped on the CPU, with the reason: the wrapper needs
    CUDA.
``cost``
    Step time and peak memory against the counterpart
    (:func:`mmext_pixel.analysis.training_cost.training_cost` with a
    baseline config or the official arithmetic). Pose configs: the median
    step of ``train_fp32`` and, on CUDA, its ``max_memory_allocated``; no
    baseline.
``aug_test``
    ``tools/test.py CONFIG CKPT --aug-test`` on two synthetic images in the
    dataset's own layout, with the weights ``train_fp32`` left.
``onnx``
    The ONNX export (``mmext_pixel.deployment``) at the crop, the graph run
    by ONNX Runtime: with the CUDA provider on ``cuda`` (skipped, saying so,
    where ``onnxruntime-gpu`` is not installed), with the CPU provider on
    ``cpu``.

The configs are the shipped files, rewritten to ``WORK_DIR/configs/``: data
roots point to the synthetic data, SyncBN stays (mmengine reverts it in one
process). ``smoke`` shrinks them (narrow trunks, small crops and test
sizes, 2 steps, one CPU thread) so that the same steps run in about a
minute on a CPU.
"""
import copy
import gc
import inspect
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmext_pixel.utils.run_config import POSE_SCOPE, load_config

from .training_cost import (format_report, model_step, optim_wrapper_for,
                            step_settings, training_cost)

NO_CUDA = ('--device cuda: no CUDA device is available (use --device cpu '
           '--smoke to try the steps on the CPU)')
# the folder that holds the mmext_pixel package (a checkout's root)
PACKAGE_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def shipped_path(*parts: str) -> str:
    """A file that the project ships beside the package (``configs/...``,
    ``tools/...``): in a checkout, or in an installed package's ``.mim``
    copy, as MIM finds them.

    Args:
        parts (str): The path's parts below the project's root.
    """
    for root in (PACKAGE_ROOT, osp.join(PACKAGE_ROOT, 'mmext_pixel', '.mim')):
        path = osp.join(root, *parts)
        if osp.exists(path):
            return path
    raise FileNotFoundError(
        f'{osp.join(*parts)} is neither in {PACKAGE_ROOT} nor in the '
        'package\'s .mim folder: run the check from a checkout of the '
        'project or an installed mmext_pixel')


@dataclass
class GPUCheckSettings:
    """What :func:`run_gpu_check` runs.

    Args:
        device (str): ``'cuda'`` or ``'cpu'``. Defaults to 'cuda'.
        smoke (bool): Tiny models and sizes (:data:`SMOKE`), one CPU
            thread. Defaults to False.
        iters (int): Training steps (at least 2). Defaults to 20.
        cfg_options (dict, optional): Overrides of every config. Defaults
            to None.
    """
    device: str = 'cuda'
    smoke: bool = False
    iters: int = 20
    cfg_options: Optional[dict] = None


STEPS = ('train_fp32', 'train_amp', 'cost', 'aug_test', 'onnx')

# method: (main config, counterpart for benchmark_train: a config,
# 'official' or None)
METHODS = {
    'gsto': ('gsto/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py',
             'hrnet/fcn_hr48_4xb2-80k_cityscapes-512x1024.py'),
    'gald': ('gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py', 'official'),
    'dgcn': ('dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py', 'official'),
    'gscnn': ('gscnn/gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py', None),
    'spnet': ('spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py', 'official'),
    'gsto_pose':
    ('gsto_pose/td-hm_gsto-hrnet-w32_8xb64-210e_coco-256x192.py', None),
}

# Per-GPU batch 1 relies on SyncBN across the GPUs for the BN after
# Gated-SCNN's image pooling (a 1x1 map); one process trains 2 images.
ONE_PROCESS_BATCH = {'gscnn': 2}

# --smoke: HRNet with one module and one block per stage, widths 8..64
TINY_HRNET = (8, 16, 32, 64)


def tiny_hrnet_extra():
    stage = dict(num_modules=1, block='BASIC')
    extra = dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(1, ),
            num_channels=(8, )))
    for i in (2, 3, 4):
        extra[f'stage{i}'] = dict(
            stage,
            num_branches=i,
            num_blocks=(1, ) * i,
            num_channels=TINY_HRNET[:i])
    return extra


def narrow_resnet(head, aux=None):
    """ResNet trunk with 4 base and 8 stem channels (layer4 128)."""
    model = dict(backbone=dict(base_channels=4, stem_channels=8), head=head)
    if aux:
        model['aux'] = aux
    return model


# --smoke: (crop, model changes); GALDHead's smallest map is 31x31
SMOKE = {
    'gsto':
    (64,
     dict(
         backbone=dict(extra=tiny_hrnet_extra()),
         head=dict(in_channels=list(TINY_HRNET), channels=sum(TINY_HRNET)))),
    'gald': (257,
             narrow_resnet(
                 dict(in_channels=128, channels=32, ga_channels=16),
                 dict(in_channels=64, channels=16))),
    'dgcn': (96,
             narrow_resnet(
                 dict(in_channels=128, channels=32),
                 dict(in_channels=64, channels=16))),
    'gscnn':
    (64, narrow_resnet(dict(in_channels=[8, 16, 32, 64, 128], channels=16))),
    'spnet': (64,
              narrow_resnet(
                  dict(in_channels=128, mid_channels=32, channels=16),
                  dict(in_channels=64, channels=16))),
    # pose: input 64 wide, 96 high
    'gsto_pose': ((96, 64),
                  dict(
                      backbone=dict(extra=tiny_hrnet_extra()),
                      head=dict(in_channels=TINY_HRNET))),
}

# --smoke: two scales (and the flip) instead of the config's six
SMOKE_AUG_SCALES = (0.75, 1.0)
# --smoke: pose images per step instead of 64
SMOKE_POSE_BATCH = 4


def mmcv_build() -> str:
    """Which mmcv and which build of its ops this process imports."""
    import mmcv
    try:
        from mmcv.ops import get_compiling_cuda_version
        cuda = get_compiling_cuda_version()
    except Exception as e:  # an mmcv without compiled ops (mmcv-lite)
        return f'mmcv {mmcv.__version__}, ops not importable ({e})'
    ops = ('CPU ops (compiled without CUDA)'
           if cuda == 'not available' else f'CUDA ops (CUDA {cuda})')
    return f'mmcv {mmcv.__version__}, {ops}'


# ----------------------------------------------------------------- configs


def _scaled(value, factor):
    if isinstance(value, (list, tuple)):
        return type(value)(_scaled(v, factor) for v in value)
    return max(1, int(round(value * factor)))


def _set_pipelines(cfg: Config, fn) -> None:
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg.get(key, {}).get('dataset', {})
        for step in dataset.get('pipeline', []):
            fn(step)
    for group in cfg.get('tta_pipeline', []):
        for step in group.get('transforms', []):
            for sub in (step if isinstance(step, list) else [step]):
                fn(sub)


def shrink_seg(cfg: Config, method: str) -> None:
    crop, changes = SMOKE[method]
    model = cfg.model
    factor = crop / model.data_preprocessor.size[0]
    model.backbone.update(changes['backbone'])
    model.backbone.init_cfg = None
    model.decode_head.update(changes['head'])
    if 'aux' in changes and model.get('auxiliary_head'):
        model.auxiliary_head.update(changes['aux'])
    model.data_preprocessor.size = (crop, crop)
    test_cfg = model.get('test_cfg', {})
    for key in ('crop_size', 'stride'):
        if key in test_cfg:
            test_cfg[key] = _scaled(test_cfg[key], factor)
    tta = cfg.get('tta_model', {})
    for key in ('crop_size', 'stride', 'base_size'):
        if key in tta:
            tta[key] = _scaled(tta[key], factor)

    def shrink_resize(step):
        if step.get('type') in ('Resize', 'RandomResize') and 'scale' in step:
            step['scale'] = _scaled(step['scale'], factor)
        if step.get('type') == 'RandomCrop':
            step['crop_size'] = (crop, crop)

    _set_pipelines(cfg, shrink_resize)


def shrink_pose(cfg: Config) -> None:
    (h, w), changes = SMOKE['gsto_pose']
    cfg.model.backbone.update(changes['backbone'])
    cfg.model.backbone.init_cfg = None
    cfg.model.head.update(changes['head'])
    cfg.train_dataloader.batch_size = SMOKE_POSE_BATCH
    codec = copy.deepcopy(cfg.model.head.decoder)
    codec.update(input_size=(w, h), heatmap_size=(w // 4, h // 4))
    cfg.model.head.decoder = codec

    def shrink(step):
        if step.get('type') == 'TopdownAffine':
            step['input_size'] = (w, h)
        if step.get('type') == 'GenerateTarget':
            step['encoder'] = copy.deepcopy(codec)

    _set_pipelines(cfg, shrink)


def seg_test_size(cfg: Config) -> tuple:
    """(H, W) of the synthetic test images: the test Resize's scale."""
    for step in cfg.test_dataloader.dataset.pipeline:
        if step.get('type') == 'Resize' and 'scale' in step:
            long, short = max(step['scale']), min(step['scale'])
            return (short, long)
    return tuple(cfg.model.data_preprocessor.size)


def write_seg_data(cfg: Config, root: str) -> None:
    """Two test images and label maps in the test dataset's layout."""
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    dataset = cfg.test_dataloader.dataset
    cls = DATASETS.get(dataset.type)
    params = inspect.signature(cls.__init__).parameters
    img_suffix = dataset.get('img_suffix', params['img_suffix'].default)
    seg_suffix = dataset.get('seg_map_suffix',
                             params['seg_map_suffix'].default)
    reduce_zero = any(
        s.get('reduce_zero_label') for s in dataset.pipeline
        if s.get('type') == 'LoadAnnotations')
    num_classes = len(cls.METAINFO['classes'])
    h, w = seg_test_size(cfg)
    rng = np.random.default_rng(0)
    for i in range(2):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        cells = rng.integers(0, num_classes, (4, 8))
        label = np.kron(cells, np.ones((h // 4 + 1, w // 8 + 1),
                                       np.int64))[:h, :w]
        label = (label + 1 if reduce_zero else label).astype(np.uint8)
        for prefix, data, suffix in ((dataset.data_prefix.img_path, img,
                                      img_suffix),
                                     (dataset.data_prefix.seg_map_path, label,
                                      seg_suffix)):
            folder = osp.join(root, prefix, 'city')
            os.makedirs(folder, exist_ok=True)
            cv2.imwrite(osp.join(folder, f'city_{i:06d}_000019{suffix}'), data)
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        cfg[key].dataset.data_root = root


COCO_KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                  'left_shoulder', 'right_shoulder', 'left_elbow',
                  'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
                  'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                  'right_ankle')


def write_coco_data(cfg: Config, root: str) -> None:
    """Two images with two people each, COCO person_keypoints format."""
    rng = np.random.default_rng(0)
    images, annotations = [], []
    h, w = 240, 320
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    for i in range(2):
        name = f'{i + 1:012d}.jpg'
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        cv2.imwrite(osp.join(root, 'images', name), img)
        images.append(dict(id=i + 1, file_name=name, height=h, width=w))
        for j in range(2):
            x0, y0 = 20 + 150 * j, 20
            bw, bh = 120, 200
            pts = np.stack([
                rng.uniform(x0, x0 + bw, 17),
                rng.uniform(y0, y0 + bh, 17),
                np.full(17, 2.0)
            ], 1)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=i + 1,
                    category_id=1,
                    iscrowd=0,
                    num_keypoints=17,
                    keypoints=[round(float(v), 2) for v in pts.ravel()],
                    bbox=[x0, y0, bw, bh],
                    area=float(bw * bh) * 0.53))
    ann = dict(
        images=images,
        annotations=annotations,
        categories=[
            dict(
                supercategory='person',
                id=1,
                name='person',
                keypoints=list(COCO_KEYPOINTS),
                skeleton=[[16, 14], [14, 12], [17, 15], [15, 13], [12, 13],
                          [6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10],
                          [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5],
                          [4, 6], [5, 7]])
        ])
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    ann_file = osp.join(root, 'annotations', 'person_keypoints.json')
    with open(ann_file, 'w') as f:
        json.dump(ann, f)
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = cfg[key].dataset
        dataset.update(
            data_root=root,
            ann_file='annotations/person_keypoints.json',
            data_prefix=dict(img='images/'),
            bbox_file=None)
    for key in ('test_evaluator', 'val_evaluator'):
        cfg[key].ann_file = ann_file


def prepare_config(method: str, settings: GPUCheckSettings,
                   work_dir: str) -> str:
    """The shipped config with synthetic data (and --smoke sizes), written
    to ``work_dir/configs/METHOD.py``."""
    cfg = load_config(shipped_path('configs', METHODS[method][0]))
    if settings.smoke:
        if cfg.default_scope == POSE_SCOPE:
            shrink_pose(cfg)
        else:
            shrink_seg(cfg, method)
    cfg.model.pop('pretrained', None)
    if cfg.model.get('backbone', {}).get('init_cfg'):
        cfg.model.backbone.init_cfg = None  # no weights are downloaded
    if settings.cfg_options:
        cfg.merge_from_dict(copy.deepcopy(settings.cfg_options))
    root = osp.join(work_dir, 'data', method)
    if cfg.default_scope == POSE_SCOPE:
        write_coco_data(cfg, root)
    else:
        write_seg_data(cfg, root)
    if method in ONE_PROCESS_BATCH:
        cfg.train_dataloader.batch_size = ONE_PROCESS_BATCH[method]
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
    path = osp.join(work_dir, 'configs', f'{method}.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    cfg.dump(path)
    return path


# ----------------------------------------------------------------- steps


def pose_batch(cfg: Config, batch: int) -> dict:
    """A training batch from the synthetic COCO set, through the config's
    own training pipeline."""
    from mmpose.registry import DATASETS
    init_default_scope(POSE_SCOPE)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return pseudo_collate([dataset[i % len(dataset)] for i in range(batch)])


def train_steps(cfg: Config, device: str, amp: bool, iters: int) -> dict:
    """``iters`` train steps; the model, losses, times and peak memory."""
    batch = cfg.train_dataloader.batch_size
    if cfg.default_scope == POSE_SCOPE:
        from mmengine.model import revert_sync_batchnorm
        from mmpose.registry import MODELS
        init_default_scope(POSE_SCOPE)
        model = revert_sync_batchnorm(MODELS.build(cfg.model)).to(device)
        model.train()
        wrapper = optim_wrapper_for(model, cfg, amp)
        data = pose_batch(cfg, batch)
        size = list(cfg.model.head.decoder.input_size)[::-1]
    else:
        batch, shape = step_settings(cfg, None, None)
        step = model_step(cfg, device, amp, batch, shape)
        model, data, wrapper = step.model, step.data, step.optim_wrapper
        size = list(shape)
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    losses, times = [], []
    for i in range(iters):
        start = time.perf_counter()
        log = model.train_step(data, wrapper)
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(1000 * (time.perf_counter() - start))
        # mmengine logs the loss tensors, still in the graph
        values = {
            k: float(torch.as_tensor(v).detach())
            for k, v in log.items()
        }
        total = values['loss']  # mmengine's sum of the losses
        losses.append(total)
        if not math.isfinite(total):
            raise FloatingPointError(f'step {i + 1}: loss {total} ({values})')
    result = dict(
        batch=batch,
        shape=size,
        losses=losses,
        first_loss=losses[0],
        last_loss=losses[-1],
        median_step_ms=statistics.median(times[1:]),
        times_ms=times)
    if device == 'cuda':
        result['peak_mib'] = torch.cuda.max_memory_allocated() / 2**20
    result['model'] = model
    return result


def run_cmd(cmd, what: str, device: str) -> str:
    """``python CMD...`` with this ``mmext_pixel`` importable; its output,
    or an error naming ``what`` with the output's end."""
    env = dict(os.environ)
    if device == 'cpu':
        # the tools take a visible GPU whenever there is one
        env['CUDA_VISIBLE_DEVICES'] = ''
    env['PYTHONPATH'] = os.pathsep.join(
        [PACKAGE_ROOT, env.get('PYTHONPATH', '')])
    proc = subprocess.run(
        [sys.executable] + cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=PACKAGE_ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f'{what} exited {proc.returncode}:\n' +
                           proc.stdout[-3000:])
    return proc.stdout


def cost_step(method, path, cfg, settings, work_dir, fp32) -> dict:
    counterpart = METHODS[method][1]
    if cfg.default_scope == POSE_SCOPE:
        note = 'own step from train_fp32'
        if settings.device != 'cuda':
            note += '; peak memory only on CUDA'
        return dict(
            status='ok',
            baseline='n/a (benchmark_train measures segmentation configs)',
            median_ms=fp32['median_step_ms'],
            peak_mib=fp32.get('peak_mib'),
            note=note)
    out = osp.join(work_dir, f'{method}_benchmark_train.json')
    config, options = path, dict(baseline=None, official=False)
    if counterpart == 'official':
        options['official'] = True
        if settings.smoke and cfg.model.decode_head.type == 'SPHead':
            # SPNet's official arithmetic exists at its published widths
            # only: the head keeps them (the step is the head's alone)
            config = official_widths(method, path, work_dir)
    elif counterpart:
        options['baseline'] = prepare_baseline(counterpart, method, settings,
                                               work_dir)
    # its peak memory runs in subprocesses of its own
    r = training_cost(
        config,
        device=settings.device,
        iters=3 if settings.smoke else 10,
        warmup=1 if settings.smoke else 2,
        threads=1 if settings.smoke else None,
        **options)
    print(format_report(r), file=sys.stderr)
    with open(out, 'w') as f:
        json.dump(r, f, indent=2)
    steps = r['steps']
    row = dict(
        status='ok',
        baseline=('official head arithmetic' if counterpart == 'official' else
                  osp.basename(counterpart) if counterpart else 'none'),
        median_ms=steps['model']['median_ms'],
        peak_mib=steps['model'].get('memory', {}).get('peak_mib'),
        ratios=r.get('ratios', {}),
        json=out)
    if 'gscnn_added_fraction' in r:
        row['gscnn_added_fraction'] = r['gscnn_added_fraction']['median']
    return row


def official_widths(method, path, work_dir) -> str:
    cfg = Config.fromfile(path)
    shipped = load_config(shipped_path('configs', METHODS[method][0]))
    cfg.model.decode_head = shipped.model.decode_head
    out = osp.join(work_dir, 'configs', f'{method}_official_widths.py')
    cfg.dump(out)
    return out


def prepare_baseline(counterpart, method, settings, work_dir) -> str:
    """The counterpart config, shrunk as the method's for --smoke."""
    cfg = load_config(shipped_path('configs', counterpart))
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.init_cfg = None
    if settings.smoke:
        crop, changes = SMOKE[method]
        cfg.model.backbone.update(changes['backbone'])
        cfg.model.decode_head.update(
            in_channels=list(TINY_HRNET), channels=sum(TINY_HRNET))
        cfg.model.data_preprocessor.size = (crop, crop)
    path = osp.join(work_dir, 'configs', f'{method}_baseline.py')
    cfg.dump(path)
    return path


def aug_test_step(method, path, cfg, settings, fp32, work_dir) -> dict:
    ckpt = fp32['checkpoint']
    cmd = [
        shipped_path('tools', 'test.py'), path, ckpt, '--aug-test',
        '--work-dir',
        osp.join(work_dir, f'{method}_aug_test')
    ]
    if settings.smoke and cfg.default_scope != POSE_SCOPE:
        cmd += ['--aug-scales', *map(str, SMOKE_AUG_SCALES)]
    out = run_cmd(cmd, 'tools/test.py --aug-test', settings.device)
    metric = [ln for ln in out.splitlines() if 'Epoch(test)' in ln]
    return dict(
        status='ok',
        images=2,
        metrics=metric[-1].split('Epoch(test)')[-1].strip() if metric else '')


def onnx_step(method, path, cfg, settings, fp32, work_dir) -> dict:
    try:
        import onnxruntime as ort
    except ImportError:
        return dict(
            status='skipped',
            reason='onnxruntime is not installed (requirements/deploy.txt)')
    providers = ort.get_available_providers()
    if settings.device == 'cuda':
        provider = 'CUDAExecutionProvider'
        if provider not in providers:
            return dict(
                status='skipped',
                reason='onnxruntime has no CUDAExecutionProvider '
                f'(providers {providers}): install onnxruntime-gpu')
    else:
        provider = 'CPUExecutionProvider'
    if cfg.default_scope == POSE_SCOPE:
        w, h = cfg.model.head.decoder.input_size
    else:
        h, w = cfg.model.data_preprocessor.size
    out = osp.join(work_dir, f'{method}.onnx')
    from mmext_pixel.deployment.onnx_export import build_model, export_onnx

    # as tools/deployment/pytorch2onnx.py CONFIG CKPT --shape H W --out OUT
    torch.manual_seed(0)
    model = build_model(path, fp32['checkpoint'])
    export_onnx(model, None, (h, w), out)
    print(f'wrote {out}', file=sys.stderr)
    if provider == 'CUDAExecutionProvider' and hasattr(ort, 'preload_dlls'):
        # the CUDA and cuDNN libraries that torch ships, where onnxruntime
        # (>= 1.21) finds none of its own
        ort.preload_dlls()
    options = {}
    if provider == 'CUDAExecutionProvider':
        # the default exhaustive cuDNN search costs minutes at full crops
        options = {'cudnn_conv_algo_search': 'HEURISTIC'}
    session = ort.InferenceSession(out, providers=[(provider, options)])
    if session.get_providers()[0] != provider:
        # onnxruntime falls back to the CPU when the CUDA libraries it was
        # built for do not load
        raise RuntimeError(f'{out}: onnxruntime did not start {provider} '
                           f'(session providers {session.get_providers()})')
    rng = np.random.default_rng(0)
    feeds = {}
    for inp in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in inp.shape]
        feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    outputs = session.run(None, feeds)
    if not all(np.isfinite(o).all() for o in outputs):
        raise FloatingPointError(f'{out}: non-finite output on {provider}')
    result = dict(
        status='ok',
        provider=provider,
        outputs={
            o.name: list(v.shape)
            for o, v in zip(session.get_outputs(), outputs)
        })
    if provider != 'CPUExecutionProvider':
        # the same graph and input on the CPU provider, for the record
        cpu = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
        result['max_abs_diff_vs_cpu_provider'] = max(
            float(np.abs(a - b).max())
            for a, b in zip(outputs, cpu.run(None, feeds)))
    return result


def check_method(method: str,
                 settings: GPUCheckSettings,
                 work_dir: str,
                 log: Callable[[str], None] = print) -> dict:
    """Every step of :data:`STEPS` on one method's main config; a step
    that raises is recorded as failed with its traceback, and the steps
    that need its result are skipped.

    Args:
        method (str): A key of :data:`METHODS`.
        settings (GPUCheckSettings): What to run.
        work_dir (str): Folder of the configs, data and outputs.
        log (Callable[[str], None]): Receives a line per finished step.
            Defaults to print.

    Returns:
        dict: ``config``, ``check_config`` (the rewritten config) and
        ``steps`` (step name -> its result, with ``status``).
    """
    path = prepare_config(method, settings, work_dir)
    cfg = load_config(path)
    row = dict(config=METHODS[method][0], check_config=path, steps={})
    steps = row['steps']
    fp32 = None

    def attempt(name, fn):
        start = time.perf_counter()
        try:
            steps[name] = fn()
        except Exception as e:
            steps[name] = dict(
                status='failed',
                error=f'{type(e).__name__}: {e}',
                traceback=traceback.format_exc()[-3000:])
        steps[name]['seconds'] = time.perf_counter() - start
        log(f'[{method}] {name}: {steps[name]["status"]}')
        return steps[name]

    def fp32_run():
        nonlocal fp32
        fp32 = train_steps(cfg, settings.device, False, settings.iters)
        # the weights the test and the export start from
        fp32['checkpoint'] = osp.join(work_dir, f'{method}_train_fp32.pth')
        torch.save(
            dict(state_dict=fp32.pop('model').state_dict(), meta={}),
            fp32['checkpoint'])
        free_memory(settings.device)  # the AMP run's peak is its own
        return dict(status='ok', **fp32)

    def amp_run():
        amp = train_steps(cfg, settings.device, True, settings.iters)
        amp.pop('model')
        free_memory(settings.device)
        return dict(status='ok', **amp)

    attempt('train_fp32', fp32_run)
    if settings.device == 'cuda':
        attempt('train_amp', amp_run)
    else:
        steps['train_amp'] = dict(
            status='skipped',
            reason='CPU: mmengine\'s AmpOptimWrapper needs CUDA '
            '(tests/models/test_mixed_precision.py checks CPU autocast)')
    if fp32 is None:
        for name in ('cost', 'aug_test', 'onnx'):
            steps[name] = dict(status='skipped', reason='train_fp32 failed')
        return row
    attempt('cost',
            lambda: cost_step(method, path, cfg, settings, work_dir, fp32))
    attempt('aug_test',
            lambda: aug_test_step(method, path, cfg, settings, fp32, work_dir))
    attempt('onnx',
            lambda: onnx_step(method, path, cfg, settings, fp32, work_dir))
    return row


def free_memory(device: str) -> None:
    gc.collect()
    if device == 'cuda':
        torch.cuda.empty_cache()


# ----------------------------------------------------------------- report


def _num(v, fmt='.1f'):
    return 'n/a' if v is None else format(v, fmt)


def cell(step: dict) -> str:
    if step['status'] == 'skipped':
        return f'skipped: {step["reason"]}'
    if step['status'] == 'failed':
        return f'FAILED: {step["error"].splitlines()[0][:120]}'
    return 'ok'


def onnx_cell(step: dict) -> str:
    if step['status'] != 'ok':
        return cell(step)
    diff = step.get('max_abs_diff_vs_cpu_provider')
    return f'ok ({step["provider"]}' + (
        f', max abs diff vs CPU provider {diff:.2g})'
        if diff is not None else ')')


def markdown(result: dict) -> str:
    lines = [
        f'GPU check on {result["device_name"]} ({result["mmcv"]}, torch '
        f'{result["torch"]}); {result["iters"]} training steps per config' +
        (', --smoke sizes' if result['smoke'] else ''), '',
        '| method | config | batch x crop | fp32 loss first/last | '
        'fp32 step (ms) | AMP step (ms) | peak memory (MiB) | '
        'vs counterpart (time / memory) | aug-test | ONNX |',
        '|---|---|---|---|---|---|---|---|---|---|'
    ]
    for method, row in result['methods'].items():
        s = row['steps']
        fp32, amp, cost = s['train_fp32'], s['train_amp'], s['cost']
        if fp32['status'] == 'ok':
            size = f'{fp32["batch"]} x {fp32["shape"][0]}x{fp32["shape"][1]}'
            loss = f'{fp32["first_loss"]:.3f} / {fp32["last_loss"]:.3f}'
            step = _num(fp32['median_step_ms'])
        else:
            size, loss, step = '', cell(fp32), ''
        amp_ms = _num(
            amp['median_step_ms']) if amp['status'] == 'ok' else (cell(amp))
        if cost['status'] == 'ok':
            mem = _num(cost.get('peak_mib'), '.0f')
            ratios = cost.get('ratios', {})
            vs = (f'{ratios["median"]:.3f} / '
                  f'{_num(ratios.get("peak_memory"), ".3f")} '
                  f'({cost["baseline"]})' if ratios else cost['baseline'])
            if 'gscnn_added_fraction' in cost:
                vs += (f'; boundary targets + dual-task loss '
                       f'{100 * cost["gscnn_added_fraction"]:.1f} % of the '
                       'step')
        else:
            mem, vs = '', cell(cost)
        lines.append(f'| {method} | {row["config"]} | {size} | {loss} | '
                     f'{step} | {amp_ms} | {mem} | {vs} | '
                     f'{cell(s["aug_test"])} | {onnx_cell(s["onnx"])} |')
    return '\n'.join(lines) + '\n'


def result_files(work_dir: str) -> Tuple[str, str]:
    """The paths of ``gpu_check.json`` and ``gpu_check.md`` in
    ``work_dir``."""
    return tuple(
        osp.join(work_dir, name)
        for name in ('gpu_check.json', 'gpu_check.md'))


def write_results(result: dict, work_dir: str) -> tuple:
    """``gpu_check.json`` and ``gpu_check.md`` in ``work_dir``; returns
    their paths and the table."""
    json_path, md_path = result_files(work_dir)
    with open(json_path, 'w') as f:
        json.dump(result, f, indent=2)
    table = markdown(result)
    with open(md_path, 'w') as f:
        f.write(table)
    return json_path, md_path, table


def failed_steps(result: dict) -> List[Tuple[str, str, str]]:
    """``(config, step, error)`` of every failed step of a result."""
    return [(row['config'], name, step['error'])
            for row in result['methods'].values()
            for name, step in row['steps'].items()
            if step['status'] == 'failed']


def run_gpu_check(settings: GPUCheckSettings,
                  work_dir: str,
                  only: Optional[Sequence[str]] = None,
                  log: Callable[[str], None] = print) -> dict:
    """Check each method (:func:`check_method`) and write
    ``gpu_check.json`` and ``gpu_check.md`` to ``work_dir`` after every
    one, so that what was checked survives a run cut short.

    Args:
        settings (GPUCheckSettings): What to run.
        work_dir (str): Output folder (made if missing).
        only (Sequence[str], optional): These methods only. Defaults to
            None: every method of :data:`METHODS`.
        log (Callable[[str], None]): Receives the progress lines. Defaults
            to print.

    Returns:
        dict: What ``gpu_check.json`` holds: the settings, the device and
        builds it ran with, ``methods`` (method -> :func:`check_method`'s
        row) and ``seconds``.
    """
    if settings.device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(NO_CUDA)
    if settings.iters < 2:
        raise ValueError(f'iters must be >= 2, got {settings.iters}')
    unknown = sorted(set(only or ()) - set(METHODS))
    if unknown:
        raise ValueError(f'unknown methods {unknown}; known: {list(METHODS)}')
    if settings.smoke and settings.device == 'cpu':
        # on a shared CPU two threads wait on each other at every operator
        # (docs/train_test.md); the subprocesses inherit the setting
        torch.set_num_threads(1)
        os.environ['OMP_NUM_THREADS'] = '1'
    work_dir = osp.abspath(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    started = time.perf_counter()
    result = dict(
        device=settings.device,
        device_name=(torch.cuda.get_device_name()
                     if settings.device == 'cuda' else 'cpu'),
        torch=torch.__version__,
        mmcv=mmcv_build(),
        smoke=settings.smoke,
        iters=settings.iters,
        data_loading='excluded from the step times (one synthetic batch)',
        methods={})
    log(f'gpu_check: {result["device_name"]}, {result["mmcv"]}')
    for method in only or list(METHODS):
        try:
            result['methods'][method] = check_method(method, settings,
                                                     work_dir, log)
        except Exception as e:  # the config could not be prepared
            result['methods'][method] = dict(
                config=METHODS[method][0],
                steps={
                    name:
                    dict(status='failed', error=f'{type(e).__name__}: {e}')
                    for name in STEPS
                })
        result['seconds'] = time.perf_counter() - started
        write_results(result, work_dir)
    return result
