"""The steps of ``tools/gpu_check.py`` on one method's check config, and
GSTO's cost ratios (:func:`step_and_forward_ratios`)."""
import json
import os.path as osp
import sys
from typing import Optional

import numpy as np
import torch
from mmengine.config import Config

from mmext_pixel.analysis.timing import peak_memory, summarise
from mmext_pixel.analysis.training_cost import (format_report, model_step,
                                                step_settings, training_cost)
from mmext_pixel.utils.run_config import POSE_SCOPE, load_config
from mmext_pixel.utils.timing import time_alternately

from .gpu_check_configs import (METHODS, SMOKE_AUG_SCALES, official_widths,
                                pose_batch, prepare_baseline)
from .tester import prepare_test, run_test

# timed and untimed runs of the cost step, and its threads, by --smoke
COST_RUNS = {
    True: dict(iters=3, warmup=1, threads=1),
    False: dict(iters=10, warmup=2)
}


def train_steps(cfg: Config,
                device: str,
                amp: bool,
                iters: int,
                checkpoint: Optional[str] = None) -> dict:
    """``iters`` training steps (the first untimed, each loss checked
    finite); the weights then saved to ``checkpoint`` if given."""
    if cfg.default_scope == POSE_SCOPE:
        step = model_step(cfg, device, amp, data=pose_batch(cfg))
        batch = cfg.train_dataloader.batch_size
        shape = cfg.model.head.decoder.input_size[::-1]
    else:
        batch, shape = step_settings(cfg, None, None)
        step = model_step(cfg, device, amp, batch, shape)
    losses, times = [], {}

    def checked_step():
        # mmengine's log holds the loss tensors, still in the graph
        log = {
            k: float(torch.as_tensor(v).detach())
            for k, v in step().items()
        }
        losses.append(log['loss'])  # mmengine's sum of the losses
        if not np.isfinite(log['loss']):
            raise FloatingPointError(f'step {len(losses)}: loss {log["loss"]} '
                                     f'({log})')

    memory = peak_memory(
        lambda: times.update(
            time_alternately(dict(step=checked_step), iters - 1, 1)), device)
    stats = summarise(times['step'])
    extra = dict(peak_mib=memory['peak_mib']) if device == 'cuda' else {}
    if checkpoint:
        torch.save(
            dict(state_dict=step.model.state_dict(), meta={}), checkpoint)
        extra['checkpoint'] = checkpoint
    return dict(
        batch=batch,
        shape=list(shape),
        losses=losses,
        first_loss=losses[0],
        last_loss=losses[-1],
        median_step_ms=stats['median_ms'],
        times_ms=stats['times_ms'],
        **extra)


def cost_step(method, path, cfg, settings, fp32, work_dir) -> dict:
    """``benchmark_train.py`` against the counterpart; its JSON kept."""
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
    config, official = path, counterpart == 'official'
    baseline = None if official or not counterpart else prepare_baseline(
        counterpart, method, settings, work_dir)
    if official and settings.smoke and cfg.model.decode_head.type == 'SPHead':
        config = official_widths(method, path, work_dir)
    r = training_cost(
        config,
        device=settings.device,
        baseline=baseline,
        official=official,
        **COST_RUNS[settings.smoke])
    print(format_report(r), file=sys.stderr)
    out = osp.join(work_dir, f'{method}_benchmark_train.json')
    with open(out, 'w') as f:
        json.dump(r, f, indent=2)
    model = r['steps']['model']
    row = dict(
        status='ok',
        baseline=('official head arithmetic' if official else
                  osp.basename(counterpart) if counterpart else 'none'),
        median_ms=model['median_ms'],
        peak_mib=model.get('memory', {}).get('peak_mib'),
        ratios=r.get('ratios', {}),
        json=out)
    if 'gscnn_added_fraction' in r:
        row['gscnn_added_fraction'] = r['gscnn_added_fraction']['median']
    return row


def aug_test_step(method, path, cfg, settings, fp32, work_dir) -> dict:
    """``tools/test.py CONFIG CKPT --aug-test`` in this process."""
    test_cfg, dataset = prepare_test(
        load_config(path),
        path,
        fp32['checkpoint'],
        osp.join(work_dir, f'{method}_aug_test'),
        aug_test=True,
        aug_scales=SMOKE_AUG_SCALES
        if settings.smoke and cfg.default_scope != POSE_SCOPE else None,
        log=lambda line: print(line, file=sys.stderr))
    metrics = run_test(test_cfg, dataset, device=settings.device)
    return dict(
        status='ok',
        images=2,
        metrics={k: float(v)
                 for k, v in metrics.items()})


def onnx_step(method, path, cfg, settings, fp32, work_dir) -> dict:
    """The export at the crop, run by ONNX Runtime on the device's
    provider, its outputs finite (and, on CUDA, against the CPU's)."""
    try:  # the deployment packages are optional (install.sh --no-deploy)
        import onnxruntime as ort

        from mmext_pixel.deployment import export_onnx
    except ImportError as e:
        return dict(
            status='skipped',
            reason=f'{e} (the deployment packages: '
            'requirements/deploy.txt, runtime/)')
    cpu = 'CPUExecutionProvider'
    provider = 'CUDAExecutionProvider' if settings.device == 'cuda' else cpu
    if provider not in ort.get_available_providers():
        return dict(
            status='skipped',
            reason=f'onnxruntime has no {provider} (providers '
            f'{ort.get_available_providers()}): install onnxruntime-gpu')
    if cfg.default_scope == POSE_SCOPE:
        w, h = cfg.model.head.decoder.input_size
    else:
        h, w = cfg.model.data_preprocessor.size
    out = osp.join(work_dir, f'{method}.onnx')
    torch.manual_seed(0)
    export_onnx(path, fp32['checkpoint'], (h, w), out)
    options = {}
    if provider != cpu:
        getattr(ort, 'preload_dlls', lambda: None)()  # torch's CUDA, cuDNN
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
    names = [o.name for o in session.get_outputs()]
    result = dict(
        status='ok',
        provider=provider,
        outputs={n: list(v.shape)
                 for n, v in zip(names, outputs)})
    if provider != cpu:
        ref = ort.InferenceSession(out, providers=[cpu]).run(None, feeds)
        result['max_abs_diff_vs_cpu_provider'] = max(
            float(np.abs(a - b).max()) for a, b in zip(outputs, ref))
    return result


def step_and_forward_ratios(cfg: Config,
                            base_cfg: Config,
                            device: str = 'cpu',
                            amp: bool = False,
                            iters: int = 8,
                            warmup: int = 1,
                            data: Optional[dict] = None) -> dict:
    """A training step and an inference (first image, ``mode='tensor'``) of
    ``cfg``'s model against ``base_cfg``'s on ``data`` (seg: synthetic if
    None), alternating; ``amp``: ``AmpOptimWrapper`` and autocast. Returns
    per ``train_step`` and ``inference`` ``model_ms``, ``baseline_ms``,
    ``ratio``."""
    steps = {
        key: model_step(
            c, device, amp,
            *(step_settings(c, None, None) if data is None else (1, None)),
            data)
        for key, c in (('model', cfg), ('baseline', base_cfg))
    }
    forwards = {
        key: (lambda m=step.model, x=step.model.data_preprocessor(
            step.data, False)['inputs'][:1]: m(x, None, mode='tensor'))
        for key, step in steps.items()
    }
    times = dict(train_step=time_alternately(steps, iters, warmup))
    for step in steps.values():
        step.model.eval()
    with torch.no_grad(), torch.autocast(device, enabled=amp):
        times['inference'] = time_alternately(forwards, iters, warmup)
    result = {}
    for what, runs in times.items():
        m, b = (summarise(runs[k])['median_ms'] for k in ('model', 'baseline'))
        result[what] = dict(model_ms=m, baseline_ms=b, ratio=m / b)
    return result
