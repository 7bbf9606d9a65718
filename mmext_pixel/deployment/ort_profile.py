"""``benchmark_onnx.py --profile``: where onnxruntime and PyTorch eager spend
their time, from their profilers; and the onnxruntime session."""
import json
import os.path as osp
import statistics
import tempfile
from collections import defaultdict
from typing import Optional, Sequence, Union

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn
from torch.profiler import ProfilerActivity, profile

from mmext_pixel.utils.timing import markdown_table, time_alternately

# torch's convolution kernels: oneDNN's and the im2col/GEMM one
CONV_KERNELS = ('aten::mkldnn_convolution', 'aten::_slow_conv2d_forward',
                'aten::thnn_conv2d')
ORT_LEVELS = dict(
    disable=ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    basic=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    extended=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    all=ort.GraphOptimizationLevel.ORT_ENABLE_ALL)


def ort_session(onnx_file: Union[str, bytes],
                threads: int,
                level: str = 'all',
                profile_prefix: Optional[str] = None):
    """An onnxruntime CPU session: ``threads`` intra-op threads, one
    inter-op thread, graph optimisation ``level`` (a key of ``ORT_LEVELS``),
    profiling to files ``profile_prefix*`` if given."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ORT_LEVELS[level]
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(
        onnx_file, options, providers=['CPUExecutionProvider'])


def _kernel(weight_shape: Sequence[int]) -> str:
    return f'{weight_shape[2]}x{weight_shape[3]}'  # (O, I/g, KH, KW)


def ort_op_profile(onnx_file: str, feeds: dict, threads: int, level: str,
                   runs: int) -> dict:
    """onnxruntime's profile of ``runs`` runs after one: ``ops`` (ms per run
    and operator type) and ``conv`` (per kernel size ms and ``macs``)."""
    with tempfile.TemporaryDirectory() as tmp:
        session = ort_session(onnx_file, threads, level, osp.join(tmp, 'ort'))
        for _ in range(runs + 1):
            session.run(None, feeds)
        with open(session.end_profiling()) as f:
            events = json.load(f)
    # the first run allocates its buffers: left out
    first_end = min(
        e['ts'] + e['dur'] for e in events
        if e.get('cat') == 'Session' and e.get('name') == 'model_run')
    ops = defaultdict(float)
    conv = defaultdict(lambda: dict(ms=0.0, macs=0))
    for event in events:
        if (event.get('cat') != 'Node'
                or not event.get('name', '').endswith('_kernel_time')
                or event['ts'] <= first_end):
            continue
        args, ms = event['args'], event['dur'] / 1000 / runs
        ops[args['op_name']] += ms
        if args['op_name'] in ('Conv', 'FusedConv'):
            weight = list(args['input_type_shape'][1].values())[0]
            out = list(args['output_type_shape'][0].values())[0]
            conv[_kernel(weight)]['ms'] += ms
            conv[_kernel(weight)]['macs'] += int(
                np.prod(out) * np.prod(weight[1:])) // runs
    return dict(ops=dict(ops), conv={k: dict(v) for k, v in conv.items()})


def torch_op_profile(graph: nn.Module, inputs: tuple) -> dict:
    """``torch.profiler``'s profile of one eager run: ``ops`` (self ms per
    aten operator) and ``conv`` (per kernel size ms in ``CONV_KERNELS``)."""
    with torch.no_grad(), profile(
            activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        graph(*inputs)
    conv = defaultdict(lambda: dict(ms=0.0))
    for event in prof.events():
        weight = event.input_shapes[1:2]
        if event.name in CONV_KERNELS and weight and len(weight[0]) == 4:
            conv[_kernel(weight[0])]['ms'] += event.self_cpu_time_total / 1e3
    ops = {
        e.key: e.self_cpu_time_total / 1000
        for e in prof.key_averages() if e.self_cpu_time_total > 0
    }
    return dict(ops=ops, conv={k: dict(v) for k, v in conv.items()})


def gemm_rates(threads: int) -> dict:
    """``size`` and GMAC/s of a 1024-cubed fp32 matmul in ``onnxruntime``
    and ``PyTorch`` on ``threads``: their convolutions' ceiling."""
    size, runs = 1024, 10
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in 'ab')
    ends = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape)
        for n in 'ac'
    ]
    node = helper.make_node('MatMul', ['a', 'b'], ['c'])
    graph = helper.make_graph([node], 'gemm', ends[:1], ends[1:],
                              [numpy_helper.from_array(b, 'b')])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 13)])
    onnx.checker.check_model(model)
    session = ort_session(model.SerializeToString(), threads)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    times = time_alternately(
        dict(
            onnxruntime=lambda: session.run(None, {'a': a}),
            PyTorch=lambda: torch.mm(ta, tb)), runs, 1)
    rates = {
        n: size**3 / statistics.median(ms) / 1e6
        for n, ms in times.items()
    }
    return dict(size=size, **rates)


def conv_ceiling(ort_profile: dict, ort_ratio: float) -> dict:
    """onnxruntime's time (from :func:`ort_op_profile`) if every
    convolution ran at the rate of its best kernel size in the model:
    ``kernel``, ``rate``, ``conv_ms``, ``other_ms``, ``ms``, ``profiled_ms``
    and ``ratio`` (``ort_ratio``, timed, scaled by ``ms / profiled_ms``)."""
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


def format_profile(profile: dict) -> str:
    """Time per operator type of both runtimes and the convolutions per
    kernel size (multiply-adds from onnxruntime's shapes)."""
    lines = []
    for name, ops in (('onnxruntime (per run)', profile['onnxruntime']['ops']),
                      ('PyTorch eager (one run, self time)',
                       profile['eager']['ops'])):
        total = sum(ops.values())
        top_ops = sorted(ops.items(), key=lambda kv: -kv[1])[:12]
        lines += [
            f'{name}: {total:.1f} ms in operators', '',
            markdown_table(['operator', 'ms', 'share'],
                           [(op, f'{ms:.1f}', f'{100 * ms / total:.1f}%')
                            for op, ms in top_ops]), ''
        ]
    rows = []
    for kernel, entry in sorted(
            profile['onnxruntime']['conv'].items(),
            key=lambda kv: -kv[1]['ms']):
        macs = entry['macs']
        eager_ms = profile['eager']['conv'].get(kernel, {}).get('ms', 0.0)
        rows.append(
            (kernel, f'{macs / 1e9:.2f}', f'{entry["ms"]:.1f}',
             f'{macs / max(entry["ms"], 1e-9) / 1e6:.1f}', f'{eager_ms:.1f}',
             f'{macs / eager_ms / 1e6:.1f}' if eager_ms else '-'))
    gemm, ceiling = profile['gemm'], profile['ceiling']
    size = gemm['size']
    return '\n'.join(lines + [
        'convolutions by kernel size', '',
        markdown_table([
            'kernel', 'GMACs', 'onnxruntime ms', 'onnxruntime GMAC/s',
            'eager ms', 'eager GMAC/s'
        ], rows), '', f'GEMM rate ({size}x{size}x{size} fp32 matrix '
        f'product): onnxruntime {gemm["onnxruntime"]:.1f} GMAC/s, PyTorch '
        f'{gemm["PyTorch"]:.1f} GMAC/s',
        'onnxruntime with every convolution at the rate of its '
        f'{ceiling["kernel"]} ones ({ceiling["rate"]:.1f} GMAC/s): '
        f'{ceiling["conv_ms"]:.1f} ms of convolutions + '
        f'{ceiling["other_ms"]:.1f} ms of other operators = '
        f'{ceiling["ms"]:.1f} ms of the profiled {ceiling["profiled_ms"]:.1f}'
        f' ms; onnxruntime / eager would be {ceiling["ratio"]:.3f}'
    ])
