"""Does every method's main config train, test and export on this machine,
how fast, in how much memory: what ``tools/gpu_check.py`` runs.

For each method's main config (``METHODS``) :func:`check_method` runs, in
order (:data:`STEPS`): ``train_fp32`` (``iters`` training steps at the
config's crop and per-GPU batch; every loss must stay finite),
``train_amp`` (the same with ``AmpOptimWrapper``; skipped on the CPU),
``cost`` (step time and peak memory against the counterpart, as
``benchmark_train.py --baseline`` or ``--official`` measure them; pose: the
fp32 steps), ``aug_test`` (the test run of ``tools/test.py --aug-test``, in
this process, on two synthetic images with the weights ``train_fp32`` left)
and ``onnx`` (the export at the crop run by ONNX Runtime: the CUDA provider
on ``cuda``, skipped where ``onnxruntime-gpu`` is missing; the CPU provider
on ``cpu``). On CUDA (and with ``smoke`` on the CPU, to check the report)
:func:`gsto_cost` then measures GSTO's price: training step and inference of
GSTO-W48 / FCN-HRNet-W48 and of GSTO-W32 / HRNet-W32 top-down pose at
256x192, in float32 and (CUDA) mixed precision.
"""
import gc
import json
import os
import os.path as osp
import sys
import time
import traceback
from typing import Callable, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmengine.config import Config

from mmext_pixel.analysis.timing import (device_name, peak_memory, summarise,
                                         time_alternately)
from mmext_pixel.analysis.training_cost import (format_report, model_step,
                                                step_and_forward_ratios,
                                                step_settings, training_cost)
from mmext_pixel.deployment import export_onnx
from mmext_pixel.utils.run_config import POSE_SCOPE, load_config

from .gpu_check_configs import (GSTO_COUNTERPARTS, METHODS, SMOKE_AUG_SCALES,
                                GPUCheckSettings, official_widths, pose_batch,
                                prepare_baseline, prepare_config)
from .gpu_check_report import write_results
from .tester import prepare_test, run_test

NO_CUDA = ('--device cuda: no CUDA device is available (use --device cpu '
           '--smoke to try the steps on the CPU)')
STEPS = ('train_fp32', 'train_amp', 'cost', 'aug_test', 'onnx')


def mmcv_build() -> str:
    """Which mmcv and which build of its ops this process imports."""
    try:
        from mmcv.ops import get_compiling_cuda_version
        cuda = get_compiling_cuda_version()
    except Exception as e:  # an mmcv without compiled ops (mmcv-lite)
        return f'mmcv {mmcv.__version__}, ops not importable ({e})'
    ops = ('CPU ops (compiled without CUDA)'
           if cuda == 'not available' else f'CUDA ops (CUDA {cuda})')
    return f'mmcv {mmcv.__version__}, {ops}'


def train_steps(cfg: Config, device: str, amp: bool, iters: int) -> dict:
    """``iters`` training steps (the first untimed); the model, losses,
    step times and, on CUDA, the peak memory."""
    if cfg.default_scope == POSE_SCOPE:
        step = model_step(cfg, device, amp, data=pose_batch(cfg))
        batch = cfg.train_dataloader.batch_size
        shape = list(cfg.model.head.decoder.input_size)[::-1]
    else:
        batch, shape = step_settings(cfg, None, None)
        step, shape = model_step(cfg, device, amp, batch, shape), list(shape)
    losses = []

    def checked_step():
        # mmengine's log holds the loss tensors, still in the graph
        values = {
            k: float(torch.as_tensor(v).detach())
            for k, v in step().items()
        }
        losses.append(values['loss'])  # mmengine's sum of the losses
        if not np.isfinite(values['loss']):
            raise FloatingPointError(
                f'step {len(losses)}: loss {values["loss"]} ({values})')

    times = {}
    memory = peak_memory(
        lambda: times.update(
            time_alternately(dict(step=checked_step), iters - 1, 1)), device)
    times = summarise(times['step'])
    result = dict(
        batch=batch,
        shape=shape,
        losses=losses,
        first_loss=losses[0],
        last_loss=losses[-1],
        median_step_ms=times['median_ms'],
        times_ms=times['times_ms'],
        model=step.model)
    if device == 'cuda':
        result['peak_mib'] = memory['peak_mib']
    return result


def cost_step(method, path, cfg, settings, fp32, work_dir) -> dict:
    counterpart = METHODS[method][1]
    if cfg.default_scope == POSE_SCOPE:
        return dict(
            status='ok',
            baseline='n/a (benchmark_train measures segmentation configs)',
            median_ms=fp32['median_step_ms'],
            peak_mib=fp32.get('peak_mib'),
            note='own step from train_fp32' +
            (''
             if settings.device == 'cuda' else '; peak memory only on CUDA'))
    config, options = path, dict(baseline=None, official=False)
    if counterpart == 'official':
        options['official'] = True
        if settings.smoke and cfg.model.decode_head.type == 'SPHead':
            config = official_widths(method, path, work_dir)
    elif counterpart:
        options['baseline'] = prepare_baseline(counterpart, method, settings,
                                               work_dir)
    r = training_cost(
        config,
        device=settings.device,
        iters=3 if settings.smoke else 10,
        warmup=1 if settings.smoke else 2,
        threads=1 if settings.smoke else None,
        **options)
    print(format_report(r), file=sys.stderr)
    out = osp.join(work_dir, f'{method}_benchmark_train.json')
    with open(out, 'w') as f:
        json.dump(r, f, indent=2)
    row = dict(
        status='ok',
        baseline=('official head arithmetic' if counterpart == 'official' else
                  osp.basename(counterpart) if counterpart else 'none'),
        median_ms=r['steps']['model']['median_ms'],
        peak_mib=r['steps']['model'].get('memory', {}).get('peak_mib'),
        ratios=r.get('ratios', {}),
        json=out)
    if 'gscnn_added_fraction' in r:
        row['gscnn_added_fraction'] = r['gscnn_added_fraction']['median']
    return row


def aug_test_step(method, path, cfg, settings, fp32, work_dir) -> dict:
    """``tools/test.py CONFIG CKPT --aug-test`` in this process."""
    scales = (
        SMOKE_AUG_SCALES
        if settings.smoke and cfg.default_scope != POSE_SCOPE else None)
    test_cfg, dataset = prepare_test(
        load_config(path),
        path,
        fp32['checkpoint'],
        osp.join(work_dir, f'{method}_aug_test'),
        aug_test=True,
        aug_scales=scales,
        log=lambda line: print(line, file=sys.stderr))
    metrics = run_test(test_cfg, dataset)
    return dict(
        status='ok',
        images=2,
        metrics={k: float(v)
                 for k, v in metrics.items()})


def onnx_step(method, path, cfg, settings, fp32, work_dir) -> dict:
    try:
        import onnxruntime as ort
    except ImportError:
        return dict(
            status='skipped',
            reason='onnxruntime is not installed '
            '(requirements/deploy.txt)')
    provider = ('CUDAExecutionProvider'
                if settings.device == 'cuda' else 'CPUExecutionProvider')
    if provider not in ort.get_available_providers():
        return dict(
            status='skipped',
            reason=f'onnxruntime has no {provider} '
            f'(providers {ort.get_available_providers()}): install '
            'onnxruntime-gpu')
    if cfg.default_scope == POSE_SCOPE:
        w, h = cfg.model.head.decoder.input_size
    else:
        h, w = cfg.model.data_preprocessor.size
    out = osp.join(work_dir, f'{method}.onnx')
    torch.manual_seed(0)
    export_onnx(path, fp32['checkpoint'], (h, w), out)
    options = {}
    if provider == 'CUDAExecutionProvider':
        if hasattr(ort, 'preload_dlls'):
            ort.preload_dlls()  # torch's CUDA and cuDNN, where ORT has none
        # the default exhaustive cuDNN search costs minutes at full crops
        options = {'cudnn_conv_algo_search': 'HEURISTIC'}
    session = ort.InferenceSession(out, providers=[(provider, options)])
    if session.get_providers()[0] != provider:
        raise RuntimeError(f'{out}: onnxruntime did not start {provider} '
                           f'(session providers {session.get_providers()})')
    rng = np.random.default_rng(0)
    feeds = {
        i.name:
        rng.standard_normal([d if isinstance(d, int) else 1
                             for d in i.shape]).astype('f4')
        for i in session.get_inputs()
    }
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
    that need its weights are skipped. Returns ``config``,
    ``check_config`` (the rewritten config) and ``steps``."""
    path = prepare_config(method, settings, work_dir)
    cfg = load_config(path)
    row = dict(config=METHODS[method][0], check_config=path, steps={})
    steps, fp32 = row['steps'], {}

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

    def train(amp):
        r = train_steps(cfg, settings.device, amp, settings.iters)
        model = r.pop('model')
        if not amp:  # the weights the test and the export start from
            r['checkpoint'] = osp.join(work_dir, f'{method}_train_fp32.pth')
            torch.save(
                dict(state_dict=model.state_dict(), meta={}), r['checkpoint'])
            fp32.update(r)
        del model
        gc.collect()  # each run's peak is its own
        if settings.device == 'cuda':
            torch.cuda.empty_cache()
        return dict(status='ok', **r)

    attempt('train_fp32', lambda: train(False))
    if settings.device == 'cuda':
        attempt('train_amp', lambda: train(True))
    else:
        steps['train_amp'] = dict(
            status='skipped',
            reason='CPU: mmengine\'s AmpOptimWrapper needs '
            'CUDA (tests/models/test_mixed_precision.py checks CPU autocast)')
    for name, fn in (('cost', cost_step), ('aug_test', aug_test_step),
                     ('onnx', onnx_step)):
        if not fp32:
            steps[name] = dict(status='skipped', reason='train_fp32 failed')
            continue
        attempt(
            name,
            lambda fn=fn: fn(method, path, cfg, settings, fp32, work_dir))
    return row


def gsto_cost(settings: GPUCheckSettings, work_dir: str,
              methods: Sequence[str]) -> dict:
    """GSTO / counterpart ratios of the training step and of inference
    (``step_and_forward_ratios``), fp32 and, on CUDA, AMP, for each of
    ``gsto`` and ``gsto_pose`` among ``methods`` (their check configs)."""
    rows = {}
    for method in (m for m in GSTO_COUNTERPARTS if m in methods):
        path = osp.join(work_dir, 'configs', f'{method}.py')
        base = prepare_baseline(GSTO_COUNTERPARTS[method], method, settings,
                                work_dir)
        cfg, base_cfg = load_config(path), load_config(base)
        data = pose_batch(cfg) if cfg.default_scope == POSE_SCOPE else None
        for precision in ('fp32', 'amp'):
            key = f'{method} {precision}'
            rows[key] = dict(counterpart=GSTO_COUNTERPARTS[method])
            if precision == 'amp' and settings.device != 'cuda':
                rows[key].update(status='skipped', reason='AMP needs CUDA')
                continue
            try:
                rows[key].update(
                    status='ok',
                    **step_and_forward_ratios(cfg, base_cfg, settings.device,
                                              precision == 'amp',
                                              3 if settings.smoke else 10,
                                              1 if settings.smoke else 3,
                                              data))
            except Exception as e:
                rows[key].update(
                    status='failed', error=f'{type(e).__name__}: {e}')
    return rows


def run_gpu_check(settings: GPUCheckSettings,
                  work_dir: str,
                  only: Optional[Sequence[str]] = None,
                  log: Callable[[str], None] = print) -> dict:
    """Check each method (:func:`check_method`, every one of ``METHODS``
    unless ``only``), then :func:`gsto_cost`; ``gpu_check.json`` and
    ``gpu_check.md`` are written to ``work_dir`` after each, so that what
    was checked survives a run cut short. Returns what the JSON holds."""
    if settings.device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(NO_CUDA)
    if settings.iters < 2:
        raise ValueError(f'iters must be >= 2, got {settings.iters}')
    unknown = sorted(set(only or ()) - set(METHODS))
    if unknown:
        raise ValueError(f'unknown methods {unknown}; known: {list(METHODS)}')
    if settings.smoke and settings.device == 'cpu':
        # on a shared CPU two threads wait on each other at every operator
        # (docs/train_test.md); spawned processes inherit the setting
        torch.set_num_threads(1)
        os.environ['OMP_NUM_THREADS'] = '1'
    work_dir = osp.abspath(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    started = time.perf_counter()
    result = dict(
        device=settings.device,
        device_name=device_name(settings.device),
        torch=torch.__version__,
        mmcv=mmcv_build(),
        smoke=settings.smoke,
        iters=settings.iters,
        data_loading='excluded from the step times (one synthetic batch)',
        methods={})
    log(f'gpu_check: {result["device_name"]}, {result["mmcv"]}')
    methods = list(only or METHODS)
    for method in methods:
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
    if settings.device == 'cuda' or settings.smoke:
        result['gsto_cost'] = gsto_cost(settings, work_dir, [
            m for m in methods
            if result['methods'][m]['steps']['train_fp32']['status'] == 'ok'
        ])
        log(f'gsto_cost: {list(result["gsto_cost"])}')
        result['seconds'] = time.perf_counter() - started
        write_results(result, work_dir)
    return result
