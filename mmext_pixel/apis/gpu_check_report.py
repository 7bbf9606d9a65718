"""The report of ``tools/gpu_check.py``: a markdown table per method and
one of GSTO's cost ratios (prettytable), and the JSON beside it."""
import json
import os.path as osp
from typing import List, Tuple

from prettytable import PrettyTable, TableStyle


def cell(step: dict) -> str:
    if step['status'] == 'skipped':
        return f'skipped: {step["reason"]}'
    if step['status'] == 'failed':
        return f'FAILED: {step["error"].splitlines()[0][:120]}'
    return 'ok'


def _num(v, fmt='.1f'):
    return 'n/a' if v is None else format(v, fmt)


def markdown(result: dict) -> str:
    """The report: one row per method, then GSTO's cost ratios."""
    table = PrettyTable([
        'method', 'config', 'batch x crop', 'fp32 loss first/last',
        'fp32 step (ms)', 'AMP step (ms)', 'peak memory (MiB)',
        'vs counterpart (time / memory)', 'aug-test', 'ONNX'
    ])
    for method, row in result['methods'].items():
        s = row['steps']
        fp32, amp, cost, onnx = (
            s[k] for k in ('train_fp32', 'train_amp', 'cost', 'onnx'))
        size, loss, step = '', cell(fp32), ''
        if fp32['status'] == 'ok':
            size = f'{fp32["batch"]} x {fp32["shape"][0]}x{fp32["shape"][1]}'
            loss = f'{fp32["first_loss"]:.3f} / {fp32["last_loss"]:.3f}'
            step = _num(fp32['median_step_ms'])
        mem, vs = '', cell(cost)
        if cost['status'] == 'ok':
            mem, ratios = _num(cost.get('peak_mib'), '.0f'), cost.get('ratios')
            vs = (f'{ratios["median"]:.3f} / '
                  f'{_num(ratios.get("peak_memory"), ".3f")} '
                  f'({cost["baseline"]})' if ratios else cost['baseline'])
            if 'gscnn_added_fraction' in cost:
                vs += (f'; boundary targets + dual-task loss '
                       f'{100 * cost["gscnn_added_fraction"]:.1f} % of the '
                       'step')
        if onnx['status'] == 'ok':
            diff = onnx.get('max_abs_diff_vs_cpu_provider')
            onnx_cell = f'ok ({onnx["provider"]}' + (
                f', max abs diff vs CPU provider {diff:.2g})'
                if diff is not None else ')')
        table.add_row([
            method, row['config'], size, loss, step,
            _num(amp['median_step_ms'])
            if amp['status'] == 'ok' else cell(amp), mem, vs,
            cell(s['aug_test']),
            onnx_cell if onnx['status'] == 'ok' else cell(onnx)
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
