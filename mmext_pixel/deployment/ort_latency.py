"""``tools/analysis_tools/benchmark_onnx.py``: CPU latency of an exported graph
in eager, onnxruntime (fp32, int8) and ``torch.compile``, in turn."""
import os.path as osp
import statistics
import tempfile
from typing import Optional, Sequence

import numpy as np
import onnxruntime as ort
import torch
from mmext_pixel_runtime.quantize import quantize_qdq
from torch import nn

from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import input_shape, load_config
from mmext_pixel.utils.timing import markdown_table, time_alternately

from .export import ExportGraph, export_onnx
from .ort_profile import (conv_ceiling, gemm_rates, ort_op_profile,
                          ort_session, torch_op_profile)
from .verify import runtime_inputs, sample_images

GOAL = 0.75  # issue 13: onnxruntime at most 0.75x PyTorch eager


def _compiled(graph: nn.Module, inputs: tuple, backend: Optional[str]):
    """``torch.compile(graph)`` compiled on ``inputs``, or why not."""
    if backend is None:
        return 'n/a: not run (--no-compile)'
    try:
        compiled = torch.compile(graph, backend=backend)
        with torch.no_grad():
            compiled(*inputs)
    except Exception as e:  # any failure of the compiler stack
        reason = str(e).strip().splitlines()
        return f'n/a: {type(e).__name__}: {reason[0][:200] if reason else ""}'
    return torch.no_grad()(lambda: compiled(*inputs))


def measure_ort_latency(cfg_path: str,
                        checkpoint: Optional[str] = None,
                        shape: Optional[Sequence[int]] = None,
                        threads: int = 1,
                        runs: int = 20,
                        warmup: int = 3,
                        compile_backend: Optional[str] = 'inductor',
                        ort_opt: str = 'all',
                        profile: int = 0,
                        cfg_options: Optional[dict] = None,
                        int8: bool = False) -> dict:
    """Latency of eager, onnxruntime and torch.compile.

    Args:
        cfg_path (str): Config path.
        checkpoint (str, optional): Weights. Defaults to None (random).
        shape (Sequence[int], optional): Input (H, W), or (S, ) for S x S.
            Defaults to None (1024 x 2048 seg, 256 x 192 pose).
        threads (int): Threads of every backend. Defaults to 1.
        runs (int): Timed runs of each backend. Defaults to 20.
        warmup (int): Untimed runs of each backend first. Defaults to 3.
        compile_backend (str, optional): ``torch.compile`` backend; None
            leaves the column out. Defaults to 'inductor'.
        ort_opt (str): onnxruntime optimisation level. Defaults to 'all'.
        profile (int): onnxruntime runs to profile after. Defaults to 0.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        int8 (bool): Also time the export quantised as the runtime does it
            (static QDQ, calibrated on the input). Defaults to False.

    Returns:
        dict: Settings; per backend ``times_ms``, ``median_ms``, ``min_ms``
        and ``ratio`` (over eager's median) or ``error``; ``profile``;
        ``int8`` (its convolutions and agreement with fp32).
    """
    cfg = load_config(cfg_path, cfg_options)
    cfg.log_level = 'WARN'
    shape = input_shape(cfg, shape)
    torch.set_num_threads(threads)
    model = build_model(cfg, checkpoint)
    graph = ExportGraph(model).eval()
    results = dict(config=cfg_path, shape=list(shape))
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = osp.join(tmp, 'model.onnx')
        meta = export_onnx(model, None, shape, onnx_file)
        _, feeds = runtime_inputs(onnx_file, meta, sample_images(shape))
        inputs = tuple(torch.from_numpy(v) for v in feeds.values())
        results.update(
            input_shapes={k: list(v.shape)
                          for k, v in feeds.items()},
            threads=threads,
            runs=runs,
            warmup=warmup,
            ort_opt=ort_opt,
            torch=torch.__version__,
            onnxruntime=ort.__version__)
        sessions = dict(onnxruntime=ort_session(onnx_file, threads, ort_opt))
        if int8:
            int8_file = osp.join(tmp, 'model_int8.onnx')
            results['int8'] = quantize_qdq(onnx_file, [feeds], int8_file)
            sessions['onnxruntime int8'] = ort_session(int8_file, threads,
                                                       ort_opt)
        runners = {'PyTorch eager': torch.no_grad()(lambda: graph(*inputs))}
        for name, session in sessions.items():
            runners[name] = lambda s=session: s.run(None, feeds)
        compiled = _compiled(graph, inputs, compile_backend)
        if callable(compiled):
            runners[f'torch.compile ({compile_backend})'] = compiled
        times = time_alternately(runners, runs, warmup)
        eager = statistics.median(times['PyTorch eager'])
        results['backends'] = {
            name: dict(
                times_ms=ms,
                median_ms=statistics.median(ms),
                min_ms=min(ms),
                ratio=statistics.median(ms) / eager)
            for name, ms in times.items()
        }
        if not callable(compiled):
            results['backends']['torch.compile'] = dict(error=compiled)
        if int8:
            fp32, quantized = (
                s.run(None, feeds)[0] for s in sessions.values())
            results['int8'].update(
                max_abs_diff=float(np.abs(fp32 - quantized).max()),
                argmax_agreement=float(
                    (fp32.argmax(1) == quantized.argmax(1)).mean()))
        if profile:
            ort_prof = ort_op_profile(onnx_file, feeds, threads, ort_opt,
                                      profile)
            results['profile'] = dict(
                onnxruntime=ort_prof,
                eager=torch_op_profile(graph, inputs),
                gemm=gemm_rates(threads),
                ceiling=conv_ceiling(
                    ort_prof, results['backends']['onnxruntime']['ratio']))
    return results


def format_ort_latency(results: dict) -> str:
    """The results as a Markdown table under the settings."""
    shapes = ', '.join(f'{k} {"x".join(map(str, v))}'
                       for k, v in results['input_shapes'].items())
    rows = [(name, r['error'], '', '') if 'error' in r else
            (name, f'{r["median_ms"]:.1f}', f'{r["min_ms"]:.1f}',
             f'{r["ratio"]:.3f}') for name, r in results['backends'].items()]
    ratio = results['backends']['onnxruntime']['ratio']
    lines = [
        f'{results["config"]}: {shapes}; CPU, {results["threads"]} threads; '
        f'{results["runs"]} interleaved runs after {results["warmup"]} '
        f'warm-up; torch {results["torch"]}, onnxruntime '
        f'{results["onnxruntime"]} (graph optimisation '
        f'{results["ort_opt"]})', '',
        markdown_table(['backend', 'median ms', 'min ms', 'median / eager'],
                       rows), '',
        f'onnxruntime / eager {ratio:.3f}: goal (<= {GOAL}) ' +
        ('met' if ratio <= GOAL else 'not met')
    ]
    if 'int8' in results:
        q = results['int8']
        lines.append(
            f'int8: {q["quantized_convs"]} of {q["convs"]} convolutions run '
            'in int8 (static QDQ, calibrated on this input); against fp32 '
            f'onnxruntime on it: max |diff| {q["max_abs_diff"]:.4g}, argmax '
            f'agreement {100 * q["argmax_agreement"]:.2f}% (not a measure '
            'of accuracy: one calibration input, random weights unless a '
            'checkpoint is given)')
    return '\n'.join(lines)
