"""CPU latency of a config's exported network: PyTorch eager, onnxruntime
(fp32 and, on request, static int8) and ``torch.compile``, in one process on
the same input. ``tools/analysis_tools/benchmark_onnx.py`` is its command
line.

The network is what :func:`~mmext_pixel.deployment.export_onnx` exports: the
segmentor's ``encode_decode`` (logits resized to the input size; Gated-SCNN
with its Canny map as a second input, computed once outside the timing) or a
pose estimator's heatmaps. The model is built as the exporter builds it
(:func:`~mmext_pixel.deployment.build_model`: SyncBN reverted, eval mode,
random weights unless a checkpoint is given; latency does not depend on the
values), exported at the requested shape to a temporary file, and run on one
image of that size prepared as the data preprocessor prepares it
(``sample_inputs``).

PyTorch runs with ``torch.set_num_threads(N)`` under ``torch.no_grad()``;
onnxruntime's CPU session with ``intra_op_num_threads=N`` and one inter-op
thread at the requested graph optimisation level; ``torch.compile`` compiles
during its warm-up and is reported as ``n/a: <reason>`` where it fails. The
warm-up and timed runs of the backends are interleaved (one run of each in
turn), so that load on the machine affects them alike.
"""
import os.path as osp
import statistics
import tempfile
from typing import Optional, Sequence

import numpy as np
import torch

from mmext_pixel.analysis.measured_model import input_shape
from mmext_pixel.analysis.timing import time_alternately
from mmext_pixel.utils.run_config import load_config

from .onnx_export import build_model, export_onnx, graph_module, sample_inputs
from .ort_profile import (conv_ceiling, gemm_rates, ort_op_profile,
                          torch_op_profile)
from .ort_session import ort_session

GOAL = 0.75  # issue 13: onnxruntime at most 0.75x PyTorch eager


def quantize_int8(onnx_file: str, feeds: dict, out_file: str) -> int:
    """Static int8 quantisation of ``onnx_file`` as the runtime does it
    (``mmext_pixel_runtime.quantize.quantize_qdq``: onnxruntime's
    pre-processing, QDQ, per-channel int8 weights, uint8 activations),
    calibrated on ``feeds`` (one input: enough for latency, not for
    accuracy).

    Args:
        onnx_file (str): The fp32 model.
        feeds (dict): Calibration input.
        out_file (str): Where the int8 model goes.

    Returns:
        int: How many convolutions onnxruntime runs in int8 (``QLinearConv``
        nodes of the session's optimised graph).
    """
    from mmext_pixel_runtime.quantize import quantize_qdq
    return quantize_qdq(onnx_file, [feeds], out_file)['quantized_convs']


def int8_agreement(fp32: np.ndarray, int8: np.ndarray) -> dict:
    """The int8 model's first output against the fp32 one's: ``max_abs_diff``
    and ``argmax_agreement`` (the share of positions whose argmax over the
    channel axis, classes or keypoints, is the same)."""
    return dict(
        max_abs_diff=float(np.abs(fp32 - int8).max()),
        argmax_agreement=float((fp32.argmax(1) == int8.argmax(1)).mean()))


def benchmark(cfg_path: str,
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
    """Latency of eager, onnxruntime and torch.compile (see module doc).

    Args:
        cfg_path (str): Config path.
        checkpoint (str, optional): Weights. Defaults to None (random).
        shape (Sequence[int], optional): Input (H, W). Defaults to None
            (the default of the config's scope, as get_flops.py's).
        threads (int): Threads of every backend. Defaults to 1.
        runs (int): Timed runs of each backend. Defaults to 20.
        warmup (int): Untimed runs of each backend first. Defaults to 3.
        compile_backend (str, optional): ``torch.compile`` backend; None
            leaves the column out. Defaults to 'inductor'.
        ort_opt (str): onnxruntime graph optimisation level. Defaults to
            'all'.
        profile (int): onnxruntime runs to profile after the timing (0:
            none). Defaults to 0.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        int8 (bool): Also time onnxruntime on the statically quantised
            export (:func:`quantize_int8`). Defaults to False.

    Returns:
        dict: Settings, and per backend ``times_ms``, ``median_ms``,
        ``min_ms`` and ``ratio`` (median over eager's), or ``error`` for a
        backend that could not run; ``profile`` when asked for; ``int8``
        (``quantized_convs``, ``convs`` and :func:`int8_agreement`) with
        ``int8``.
    """
    cfg = load_config(cfg_path, cfg_options)
    cfg.log_level = 'WARN'
    shape = input_shape(cfg, shape)
    torch.set_num_threads(threads)
    model = build_model(cfg, checkpoint)
    feeds = sample_inputs(model, shape)
    inputs = tuple(torch.from_numpy(v) for v in feeds.values())
    graph = graph_module(model).eval()
    results = dict(
        config=cfg_path,
        shape=list(shape),
        input_shapes={k: list(v.shape)
                      for k, v in feeds.items()},
        threads=threads,
        runs=runs,
        warmup=warmup,
        ort_opt=ort_opt,
        torch=torch.__version__)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = osp.join(tmp, 'model.onnx')
        export_onnx(model, None, shape, onnx_file)
        import onnxruntime as ort
        results['onnxruntime'] = ort.__version__
        session = ort_session(onnx_file, threads, ort_opt)

        def eager():
            with torch.no_grad():
                return graph(*inputs)

        runners = {
            'PyTorch eager': eager,
            'onnxruntime': lambda: session.run(None, feeds),
        }
        if int8:
            int8_file = osp.join(tmp, 'model_int8.onnx')
            import onnx
            results['int8'] = dict(
                quantized_convs=quantize_int8(onnx_file, feeds, int8_file),
                convs=sum(n.op_type == 'Conv'
                          for n in onnx.load(onnx_file).graph.node))
            int8_session = ort_session(int8_file, threads, ort_opt)
            runners['onnxruntime int8'] = lambda: int8_session.run(None, feeds)
        errors = {}
        if compile_backend is None:
            errors['torch.compile'] = 'n/a: not run (--no-compile)'
        else:
            try:
                compiled = torch.compile(graph, backend=compile_backend)
                with torch.no_grad():
                    compiled(*inputs)  # compiles
            except Exception as e:  # any failure of the compiler stack
                reason = str(e).strip().splitlines()
                errors['torch.compile'] = (
                    f'n/a: {type(e).__name__}: '
                    f'{reason[0][:200] if reason else ""}')
            else:

                def run_compiled():
                    with torch.no_grad():
                        return compiled(*inputs)

                runners[f'torch.compile ({compile_backend})'] = run_compiled
        times = time_alternately(runners, runs, warmup)
        eager_median = statistics.median(times['PyTorch eager'])
        backends = {}
        for name, ms in times.items():
            median = statistics.median(ms)
            backends[name] = dict(
                times_ms=ms,
                median_ms=median,
                min_ms=min(ms),
                ratio=median / eager_median)
        for name, error in errors.items():
            backends[name] = dict(error=error)
        results['backends'] = backends
        if int8:
            results['int8'].update(
                int8_agreement(
                    session.run(None, feeds)[0],
                    int8_session.run(None, feeds)[0]))
        if profile:
            ort_prof = ort_op_profile(onnx_file, feeds, threads, ort_opt,
                                      profile)
            gemm = gemm_rates(threads)
            results['profile'] = dict(
                onnxruntime=ort_prof,
                eager=torch_op_profile(graph, inputs),
                gemm=gemm,
                ceiling=conv_ceiling(ort_prof,
                                     backends['onnxruntime']['ratio']))
    return results


def format_table(results: dict) -> str:
    """The results as a Markdown table with a header of the settings."""
    shapes = ', '.join(f'{k} {"x".join(map(str, v))}'
                       for k, v in results['input_shapes'].items())
    lines = [
        f'{results["config"]}: {shapes}; CPU, {results["threads"]} threads; '
        f'{results["runs"]} interleaved runs after {results["warmup"]} '
        f'warm-up; torch {results["torch"]}, onnxruntime '
        f'{results["onnxruntime"]} (graph optimisation '
        f'{results["ort_opt"]})', '',
        '| backend | median ms | min ms | median / eager |',
        '| --- | ---: | ---: | ---: |'
    ]
    for name, r in results['backends'].items():
        if 'error' in r:
            lines.append(f'| {name} | {r["error"]} | | |')
        else:
            lines.append(f'| {name} | {r["median_ms"]:.1f} | '
                         f'{r["min_ms"]:.1f} | {r["ratio"]:.3f} |')
    ratio = results['backends']['onnxruntime']['ratio']
    lines += [
        '', f'onnxruntime / eager {ratio:.3f}: goal (<= {GOAL}) ' +
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
