"""CPU latency of a config's network: PyTorch eager, onnxruntime and
``torch.compile``, in one process on the same input.

    python tools/analysis_tools/benchmark_onnx.py CONFIG [CHECKPOINT]
        [--shape H W] [--threads N] [--runs 20] [--warmup 3]
        [--compile-backend inductor | --no-compile]
        [--ort-opt {disable,basic,extended,all}] [--profile [N]] [--int8]
        [--out RESULT.json] [--cfg-options k=v ...]

The network is what ``tools/deployment/pytorch2onnx.py`` exports: the
segmentor's ``encode_decode`` (logits resized to the input size; Gated-SCNN
with its Canny map as a second input, computed once outside the timing) or a
pose estimator's heatmaps. The model is built as the exporter builds it
(``mmext_pixel.deployment.build_model``: SyncBN reverted, eval mode, random
weights unless CHECKPOINT is given; latency does not depend on the values),
exported at ``--shape`` (H W; default 1024 2048 for segmentation, 256 192
for pose) to a temporary file, and run on one image of that size prepared
as the data preprocessor prepares it (``sample_inputs``).

PyTorch runs with ``torch.set_num_threads(N)`` under ``torch.no_grad()``;
onnxruntime's CPU session with ``intra_op_num_threads=N`` and one
inter-op thread, graph optimisation ``--ort-opt`` (default all: constant
folding, Conv+BatchNorm and other fusions, layout transforms);
``torch.compile`` (default backend inductor) compiles during its warm-up, and
is reported as ``n/a: <reason>`` where it fails. ``--warmup`` untimed and
then ``--runs`` timed runs of each backend are interleaved (one run of each
in turn), so that load on the machine affects them alike. The table gives
the median and minimum in ms and each backend's median over eager's.

``--int8`` adds onnxruntime on the export quantised statically to int8
(onnxruntime's ``quant_pre_process`` and ``quantize_static``: QDQ,
per-channel weights, activations calibrated on the benchmark input) and
prints how many convolutions run in int8 and how far its output is from the
fp32 export's on that input.

``--profile N`` then runs onnxruntime N more times with its profiler
(``SessionOptions.enable_profiling``) and PyTorch eager once under
``torch.profiler``, and prints the time per operator type of both: where the
onnxruntime / eager ratio is not what one expects, this says which
operators take the time, and the convolutions' rate per kernel size. It
also times a large matrix product in both runtimes (their GEMM rate on this
CPU), and gives onnxruntime's time if every convolution ran as fast as its
most efficient kernel size does in this model: where that meets the goal
and the real run does not, the slower kernels are what misses it.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import tempfile
from collections import defaultdict
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import DictAction
from torch import nn

from mmext_pixel.deployment import build_model, export_onnx
from mmext_pixel.deployment.onnx_export import graph_module, sample_inputs
from mmext_pixel.utils.analysis import (add_shape_arg, input_shape,
                                        time_alternately)
from mmext_pixel.utils.run_config import load_config

ORT_LEVELS = ('disable', 'basic', 'extended', 'all')
GOAL = 0.75  # issue 13: onnxruntime at most 0.75x PyTorch eager


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='CPU latency: PyTorch eager vs onnxruntime (and '
        'torch.compile) on the same input')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint', nargs='?', help='weights (default: random)')
    add_shape_arg(parser)
    parser.add_argument(
        '--threads',
        type=int,
        default=torch.get_num_threads(),
        help='threads of both runtimes (default: PyTorch\'s default, '
        f'{torch.get_num_threads()} here)')
    parser.add_argument(
        '--runs', type=int, default=20, help='timed runs of each backend')
    parser.add_argument(
        '--warmup', type=int, default=3, help='untimed runs of each first')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--compile-backend',
        default='inductor',
        help='torch.compile backend of the third column (default inductor)')
    group.add_argument(
        '--no-compile',
        action='store_true',
        help='leave out torch.compile (its compilation takes minutes for '
        'the large models)')
    parser.add_argument(
        '--ort-opt',
        choices=ORT_LEVELS,
        default='all',
        help='onnxruntime graph optimisation level (default all)')
    parser.add_argument(
        '--profile',
        type=int,
        nargs='?',
        const=3,
        default=0,
        metavar='N',
        help='then profile N onnxruntime runs and one eager run and print '
        'the time per operator type (N defaults to 3)')
    parser.add_argument(
        '--int8',
        action='store_true',
        help='also time onnxruntime on the export quantised to int8 (static '
        'QDQ, calibrated on the benchmark input)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (see mmengine)')
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    if args.runs < 1 or args.warmup < 0:
        parser.error(f'--runs must be >= 1 and --warmup >= 0, got runs='
                     f'{args.runs}, warmup={args.warmup}')
    if args.profile < 0:
        parser.error(f'--profile takes N >= 1, got {args.profile}')
    return args


def ort_session(onnx_file: Union[str, bytes],
                threads: int,
                level: str = 'all',
                profile_prefix: Optional[str] = None):
    """An onnxruntime CPU session with ``threads`` intra-op threads.

    Args:
        onnx_file (str | bytes): The model's path or its serialised bytes.
        threads (int): ``intra_op_num_threads`` (inter-op: 1).
        level (str): Graph optimisation, one of ``ORT_LEVELS``. Defaults to
            'all'.
        profile_prefix (str, optional): Profile to files with this prefix.
            Defaults to None (no profiling).
    """
    import onnxruntime as ort
    levels = dict(
        disable=ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        basic=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        extended=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        all=ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = levels[level]
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(
        onnx_file, options, providers=['CPUExecutionProvider'])


def _kernel(weight_shape: Sequence[int]) -> str:
    """``'KHxKW'`` of a convolution weight (O, I/groups, KH, KW)."""
    return f'{weight_shape[2]}x{weight_shape[3]}'


def ort_op_profile(onnx_file: str, feeds: dict, threads: int, level: str,
                   runs: int) -> dict:
    """onnxruntime's profile of ``runs`` runs (after one unprofiled).

    Returns:
        dict: ``ops``: ms per run of each operator type; ``conv``: per
        kernel size (``'3x3'``), ms per run and multiply-adds (``macs``,
        from the shapes the profiler records).
    """
    with tempfile.TemporaryDirectory() as tmp:
        session = ort_session(onnx_file, threads, level, osp.join(tmp, 'ort'))
        for _ in range(runs + 1):
            session.run(None, feeds)
        with open(session.end_profiling()) as f:
            events = json.load(f)
    model_runs = sorted(
        (e['ts'], e['ts'] + e['dur']) for e in events
        if e.get('cat') == 'Session' and e.get('name') == 'model_run')
    # the first run allocates its buffers: left out
    first_end = model_runs[0][1]
    ops = defaultdict(float)
    conv = defaultdict(lambda: dict(ms=0.0, macs=0))
    for event in events:
        if (event.get('cat') != 'Node'
                or not event.get('name', '').endswith('_kernel_time')
                or event['ts'] <= first_end):
            continue
        args = event['args']
        ms = event['dur'] / 1000 / runs
        ops[args['op_name']] += ms
        if args['op_name'] in ('Conv', 'FusedConv'):
            weight = list(args['input_type_shape'][1].values())[0]
            out = list(args['output_type_shape'][0].values())[0]
            entry = conv[_kernel(weight)]
            entry['ms'] += ms
            entry['macs'] += int(np.prod(out) * np.prod(weight[1:])) // runs
    return dict(ops=dict(ops), conv={k: dict(v) for k, v in conv.items()})


def torch_op_profile(graph: nn.Module, inputs: tuple) -> dict:
    """``torch.profiler``'s profile of one eager run.

    Returns:
        dict: ``ops``: ms (self time) of each aten operator; ``conv``: per
        kernel size, ms in the convolution kernels (oneDNN's and the
        im2col/GEMM one).
    """
    from torch.profiler import ProfilerActivity, profile
    with torch.no_grad(), profile(
            activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        graph(*inputs)
    conv = defaultdict(lambda: dict(ms=0.0))
    for event in prof.events():
        if event.name in ('aten::mkldnn_convolution',
                          'aten::_slow_conv2d_forward', 'aten::thnn_conv2d'):
            shapes = event.input_shapes
            if len(shapes) > 1 and len(shapes[1]) == 4:
                conv[_kernel(shapes[1])]['ms'] += \
                    event.self_cpu_time_total / 1000
    ops = {
        e.key: e.self_cpu_time_total / 1000
        for e in prof.key_averages() if e.self_cpu_time_total > 0
    }
    return dict(ops=ops, conv={k: dict(v) for k, v in conv.items()})


def gemm_rates(threads: int, size: int = 1024, runs: int = 10) -> dict:
    """GMAC/s of one ``size``-cubed fp32 matrix product in each runtime.

    This is what each runtime's GEMM kernels reach on this CPU with
    ``threads`` threads: the rate its convolutions would have if they were
    as efficient as a large square GEMM (their practical ceiling), run
    interleaved like the benchmark itself.

    Args:
        threads (int): Threads of both runtimes.
        size (int): M = N = K. Defaults to 1024.
        runs (int): Timed runs of each (after one untimed). Defaults to 10.

    Returns:
        dict: ``onnxruntime`` and ``PyTorch``: GMAC/s of the median run;
        ``size``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node('MatMul', ['a', 'b'], ['c'])], 'gemm',
        [helper.make_tensor_value_info('a', TensorProto.FLOAT, a.shape)],
        [helper.make_tensor_value_info('c', TensorProto.FLOAT, a.shape)],
        [numpy_helper.from_array(b, 'b')])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 13)])
    onnx.checker.check_model(model)
    session = ort_session(model.SerializeToString(), threads)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    times = time_alternately(
        {
            'onnxruntime': lambda: session.run(None, {'a': a}),
            'PyTorch': lambda: torch.mm(ta, tb)
        },
        runs,
        warmup=1)
    macs = size**3
    rates = {
        name: macs / statistics.median(ms) / 1e6
        for name, ms in times.items()
    }
    return dict(size=size, **rates)


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


def conv_ceiling(ort_profile: dict, ort_ratio: float) -> dict:
    """onnxruntime's time if all its convolutions ran at the rate of its
    most efficient kernel size in this model.

    Args:
        ort_profile (dict): ``ort_op_profile``'s result.
        ort_ratio (float): The timed onnxruntime / eager ratio of medians.

    Returns:
        dict: ``kernel`` and ``rate`` (GMAC/s) of the most efficient kernel
        size, ``conv_ms`` (every convolution's multiply-adds at that rate),
        ``other_ms`` (profiled time of every other operator), ``ms`` (their
        sum), ``profiled_ms`` (the profiled time of all operators) and
        ``ratio``: the timed ratio scaled by ``ms / profiled_ms`` (the
        profiler's own overhead cancels out).
    """
    conv = ort_profile['conv']
    kernel = max(conv, key=lambda k: conv[k]['macs'] / conv[k]['ms'])
    rate = conv[kernel]['macs'] / conv[kernel]['ms'] / 1e6
    conv_ms = sum(entry['macs'] for entry in conv.values()) / rate / 1e6
    profiled_ms = sum(ort_profile['ops'].values())
    other_ms = profiled_ms - sum(entry['ms'] for entry in conv.values())
    return dict(
        kernel=kernel,
        rate=rate,
        conv_ms=conv_ms,
        other_ms=other_ms,
        ms=conv_ms + other_ms,
        profiled_ms=profiled_ms,
        ratio=ort_ratio * (conv_ms + other_ms) / profiled_ms)


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
            (get_flops.py's default of the config's scope).
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


def format_profile(profile: dict, top: int = 12) -> str:
    """Time per operator type of both runtimes, largest first, and the
    convolutions per kernel size with their rate (multiply-adds from
    onnxruntime's shapes: the same convolutions in both)."""
    lines = []
    for name, prof in (('onnxruntime (per run)', profile['onnxruntime']),
                       ('PyTorch eager (one run, self time)',
                        profile['eager'])):
        ops = prof['ops']
        total = sum(ops.values())
        lines += [
            f'{name}: {total:.1f} ms in operators', '',
            '| operator | ms | share |', '| --- | ---: | ---: |'
        ]
        for op, ms in sorted(ops.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f'| {op} | {ms:.1f} | {100 * ms / total:.1f}% |')
        lines.append('')
    ort_conv = profile['onnxruntime']['conv']
    eager_conv = profile['eager']['conv']
    lines += [
        'convolutions by kernel size', '',
        '| kernel | GMACs | onnxruntime ms | GMAC/s | eager ms | GMAC/s |',
        '| --- | ---: | ---: | ---: | ---: | ---: |'
    ]
    for kernel, entry in sorted(ort_conv.items(), key=lambda kv: -kv[1]['ms']):
        macs = entry['macs']
        eager_ms = eager_conv.get(kernel, {}).get('ms', 0.0)
        eager_rate = f'{macs / eager_ms / 1e6:.1f}' if eager_ms else '-'
        lines.append(f'| {kernel} | {macs / 1e9:.2f} | {entry["ms"]:.1f} | '
                     f'{macs / max(entry["ms"], 1e-9) / 1e6:.1f} | '
                     f'{eager_ms:.1f} | {eager_rate} |')
    gemm, ceiling = profile['gemm'], profile['ceiling']
    size = gemm['size']
    lines += [
        '', f'GEMM rate ({size}x{size}x{size} fp32 matrix product): '
        f'onnxruntime {gemm["onnxruntime"]:.1f} GMAC/s, PyTorch '
        f'{gemm["PyTorch"]:.1f} GMAC/s',
        'onnxruntime with every convolution at the rate of its '
        f'{ceiling["kernel"]} ones ({ceiling["rate"]:.1f} GMAC/s): '
        f'{ceiling["conv_ms"]:.1f} ms of convolutions + '
        f'{ceiling["other_ms"]:.1f} ms of other operators = '
        f'{ceiling["ms"]:.1f} ms of the profiled {ceiling["profiled_ms"]:.1f}'
        f' ms; onnxruntime / eager would be {ceiling["ratio"]:.3f}'
    ]
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    results = benchmark(args.config, args.checkpoint, args.shape, args.threads,
                        args.runs, args.warmup,
                        None if args.no_compile else args.compile_backend,
                        args.ort_opt, args.profile, args.cfg_options,
                        args.int8)
    print(format_table(results))
    if args.profile:
        print()
        print(format_profile(results['profile']))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
        print(f'results written to {args.out}')
    return results


if __name__ == '__main__':
    main()
