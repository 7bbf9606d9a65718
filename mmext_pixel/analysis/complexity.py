"""Parameters and FLOPs of a config's network (``get_flops.py``; mmengine's
counter: one multiply-add is one FLOP, as in fvcore and mmseg)."""
from typing import Optional, Sequence

import torch
from mmengine.analysis import FlopAnalyzer, get_model_complexity_info
from mmengine.config import Config
from torch import nn

from mmext_pixel.utils.run_config import input_shape

from .measured_model import TensorForward, measured_network


def get_complexity(cfg: Config,
                   shape: Optional[Sequence[int]] = None,
                   model: Optional[nn.Module] = None,
                   by_operator: bool = False) -> dict:
    """``params``, ``flops``, ``activations``, ``shape``, ``input_shape``
    (padded) and, ``by_operator``, ``flops_by_operator`` of ``cfg.model``
    (or ``model``) without its auxiliary head, as mmseg's tool counts."""
    shape = input_shape(cfg, shape)
    model, inputs = measured_network(cfg, shape, model=model)
    with torch.no_grad():
        info = get_model_complexity_info(
            TensorForward(model),
            inputs=(inputs, ),
            show_table=False,
            show_arch=False)
        result = dict(
            params=int(info['params']),
            flops=int(info['flops']),
            activations=int(info['activations']),
            shape=tuple(shape),
            input_shape=tuple(inputs.shape[-2:]))
        if by_operator:
            analyzer = FlopAnalyzer(TensorForward(model), (inputs, ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            result['flops_by_operator'] = {
                op: int(n)
                for op, n in analyzer.by_operator().items()
            }
    return result


def format_complexity(config_path: str, result: dict) -> str:
    """:func:`get_complexity`'s result as get_flops.py prints it."""
    split_line = '=' * 40
    lines = [
        split_line, f'Config: {config_path}',
        f'Input shape (H, W): {result["shape"]}'
    ]
    if result['input_shape'] != result['shape']:
        lines.append(
            f'  padded by the data_preprocessor to {result["input_shape"]}')
    lines += [
        f'Params: {result["params"]:,} ({result["params"] / 1e6:.2f} M)',
        f'GFLOPs: {result["flops"] / 1e9:.2f} (multiply-adds, '
        f'{result["flops"]:,})'
    ]
    by_op = result.get('flops_by_operator')
    if by_op is not None:
        for op, n in sorted(by_op.items(), key=lambda kv: -kv[1]):
            lines.append(f'  {op:<24} {n / 1e9:10.2f} GFLOPs')
        conv = sum(n for op, n in by_op.items()
                   if op in ('conv', 'linear', 'addmm'))
        lines.append('Conv + linear only, / 2**30 (HRNet modelsummary.py): '
                     f'{conv / 2**30:.2f} GFLOPs')
    lines += [
        split_line,
        '!!!Please be cautious if you use the results in papers. You may '
        'need to check if all ops are supported and verify that the flops '
        'computation is correct.'
    ]
    return '\n'.join(lines)
