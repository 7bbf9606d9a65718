"""``tools/gpu_check.py``: each method's check config trained, costed,
tested and exported in this process, then GSTO's cost ratios."""
import gc
import json
import os
import os.path as osp
import time
import traceback
from typing import Callable, List, Optional, Sequence, Tuple

import mmcv
import torch
from prettytable import PrettyTable, TableStyle

from mmext_pixel.analysis.timing import device_name
from mmext_pixel.utils.run_config import POSE_SCOPE, load_config

from .gpu_check_configs import (GSTO_COUNTERPARTS, METHODS, GPUCheckSettings,
                                pose_batch, prepare_baseline, prepare_config)
from .gpu_check_steps import (aug_test_step, cost_step, onnx_step,
                              step_and_forward_ratios, train_steps)

NO_CUDA = ('--device cuda: no CUDA device is available (use --device cpu '
           '--smoke to try the steps on the CPU)')
STEPS = ('train_fp32', 'train_amp', 'cost', 'aug_test', 'onnx')
RATIO_RUNS = {True: (3, 1), False: (10, 3)}  # GSTO's ratios: runs, warmup


def mmcv_build() -> str:
    """Which mmcv and which build of its ops this process imports."""
    try:  # optional: an mmcv without compiled ops (mmcv-lite) has none
        from mmcv.ops import get_compiling_cuda_version
        cuda = get_compiling_cuda_version()
    except Exception as e:
        return f'mmcv {mmcv.__version__}, ops not importable ({e})'
    return f'mmcv {mmcv.__version__}, ' + ('CPU ops (compiled without CUDA)'
                                           if cuda == 'not available' else
                                           f'CUDA ops (CUDA {cuda})')


def cell(step: dict, ok: Callable[[dict], str] = lambda step: 'ok') -> str:
    """A step's table cell: ``ok(step)``, or why it was skipped or failed."""
    if step['status'] == 'skipped':
        return f'skipped: {step["reason"]}'
    if step['status'] == 'failed':
        return f'FAILED: {step["error"].splitlines()[0][:120]}'
    return ok(step)


def _num(v, fmt='.1f'):
    return 'n/a' if v is None else format(v, fmt)


def _versus(cost: dict) -> str:
    ratios = cost.get('ratios')
    text = (f'{ratios["median"]:.3f} / '
            f'{_num(ratios.get("peak_memory"), ".3f")} ({cost["baseline"]})'
            if ratios else cost['baseline'])
    if 'gscnn_added_fraction' in cost:
        text += (f'; boundary targets + dual-task loss '
                 f'{100 * cost["gscnn_added_fraction"]:.1f} % of the step')
    return text


def _onnx(onnx: dict) -> str:
    diff = onnx.get('max_abs_diff_vs_cpu_provider')
    return f'ok ({onnx["provider"]}' + (
        f', max abs diff vs CPU provider {diff:.2g})'
        if diff is not None else ')')


def markdown(result: dict) -> str:
    """The report: one row per method, then GSTO's cost ratios."""
    table = PrettyTable([
        'method', 'config', 'batch x crop', 'fp32 loss first/last',
        'fp32 step (ms)', 'AMP step (ms)', 'peak memory (MiB)',
        'vs counterpart (time / memory)', 'aug-test', 'ONNX'
    ])
    for method, row in result['methods'].items():
        fp32, amp, cost, aug, onnx = (row['steps'][k] for k in STEPS)
        ok, costed = fp32['status'] == 'ok', cost['status'] == 'ok'
        table.add_row([
            method, row['config'],
            f'{fp32["batch"]} x {fp32["shape"][0]}x{fp32["shape"][1]}'
            if ok else '',
            cell(fp32, lambda s: f'{s["first_loss"]:.3f} / '
                 f'{s["last_loss"]:.3f}'),
            _num(fp32['median_step_ms']) if ok else '',
            cell(amp, lambda s: _num(s['median_step_ms'])),
            _num(cost.get('peak_mib'), '.0f') if costed else '',
            cell(cost, _versus),
            cell(aug),
            cell(onnx, _onnx)
        ])
    table.set_style(TableStyle.MARKDOWN)
    text = (f'GPU check on {result["device_name"]} ({result["mmcv"]}, torch '
            f'{result["torch"]}); {result["iters"]} training steps per '
            'config' + (', --smoke sizes' if result['smoke'] else '') +
            f'\n\n{table.get_string()}\n')
    if result.get('gsto_cost'):
        ratios = PrettyTable([
            'GSTO / counterpart', 'counterpart', 'training step', 'inference',
            'step ms (GSTO / counterpart)'
        ])
        for key, r in result['gsto_cost'].items():
            ratios.add_row([key, r['counterpart']] + ([
                f'{r["train_step"]["ratio"]:.3f}',
                f'{r["inference"]["ratio"]:.3f}',
                f'{r["train_step"]["model_ms"]:.1f} / '
                f'{r["train_step"]["baseline_ms"]:.1f}'
            ] if r['status'] == 'ok' else [cell(r), '', '']))
        ratios.set_style(TableStyle.MARKDOWN)
        text += f'\n{ratios.get_string()}\n'
    return text


def result_files(work_dir: str) -> Tuple[str, str]:
    """The paths of ``gpu_check.json`` and ``gpu_check.md``."""
    return tuple(
        osp.join(work_dir, f'gpu_check.{ext}') for ext in ('json', 'md'))


def write_results(result: dict, work_dir: str) -> None:
    json_path, md_path = result_files(work_dir)
    with open(json_path, 'w') as f:
        json.dump(result, f, indent=2)
    with open(md_path, 'w') as f:
        f.write(markdown(result))


def failed_steps(result: dict) -> List[Tuple[str, str, str]]:
    """``(config, step, error)`` of every failed step of a result."""
    return [(row['config'], name, step['error'])
            for row in result['methods'].values()
            for name, step in row['steps'].items()
            if step['status'] == 'failed']


def _failed(e: Exception) -> dict:
    return dict(status='failed', error=f'{type(e).__name__}: {e}')


def check_method(method: str,
                 settings: GPUCheckSettings,
                 work_dir: str,
                 log: Callable[[str], None] = print) -> dict:
    """Every step of :data:`STEPS` on one method's main config (a raising
    step fails with its traceback, those needing its weights are skipped):
    ``config``, ``check_config`` and ``steps``."""
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
                _failed(e), traceback=traceback.format_exc()[-3000:])
        steps[name]['seconds'] = time.perf_counter() - start
        log(f'[{method}] {name}: {steps[name]["status"]}')

    def train(amp):
        checkpoint = osp.join(work_dir, f'{method}_train_fp32.pth')
        r = dict(
            status='ok',
            **train_steps(cfg, settings.device, amp, settings.iters,
                          None if amp else checkpoint))
        gc.collect()  # each run's peak is its own
        if settings.device == 'cuda':
            torch.cuda.empty_cache()
        if not amp:  # the weights the test and the export start from
            fp32.update(r)
        return r

    attempt('train_fp32', lambda: train(False))
    if settings.device == 'cuda':
        attempt('train_amp', lambda: train(True))
    else:
        steps['train_amp'] = dict(
            status='skipped',
            reason='CPU: mmengine\'s AmpOptimWrapper needs '
            'CUDA (tests/models/test_mixed_precision.py checks CPU autocast)')
    for name, fn in zip(STEPS[2:], (cost_step, aug_test_step, onnx_step)):
        if not fp32:
            steps[name] = dict(status='skipped', reason='train_fp32 failed')
            continue
        attempt(
            name,
            lambda fn=fn: fn(method, path, cfg, settings, fp32, work_dir))
    return row


def gsto_cost(settings: GPUCheckSettings, work_dir: str,
              methods: Sequence[str]) -> dict:
    """GSTO / counterpart ratios (:func:`step_and_forward_ratios`), fp32
    and, on CUDA, AMP, for ``gsto`` and ``gsto_pose`` among ``methods``."""
    rows = {}
    for method in (m for m in GSTO_COUNTERPARTS if m in methods):
        base = prepare_baseline(GSTO_COUNTERPARTS[method], method, settings,
                                work_dir)
        cfg = load_config(osp.join(work_dir, 'configs', f'{method}.py'))
        base_cfg = load_config(base)
        data = pose_batch(cfg) if cfg.default_scope == POSE_SCOPE else None
        for amp in (False, True):
            key = f'{method} {"amp" if amp else "fp32"}'
            row = rows[key] = dict(counterpart=GSTO_COUNTERPARTS[method])
            if amp and settings.device != 'cuda':
                row.update(status='skipped', reason='AMP needs CUDA')
                continue
            try:
                row.update(
                    status='ok',
                    **step_and_forward_ratios(cfg, base_cfg, settings.device,
                                              amp, *RATIO_RUNS[settings.smoke],
                                              data))
            except Exception as e:
                row.update(_failed(e))
    return rows


def run_gpu_check(settings: GPUCheckSettings,
                  work_dir: str,
                  only: Optional[Sequence[str]] = None,
                  log: Callable[[str], None] = print) -> dict:
    """Check each method (``only`` or all), then :func:`gsto_cost`, writing
    ``gpu_check.json`` and ``.md`` to ``work_dir`` after each; returns the
    JSON's content."""
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
                steps={name: _failed(e)
                       for name in STEPS})
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
