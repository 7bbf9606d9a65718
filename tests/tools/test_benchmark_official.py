"""tools/analysis_tools/benchmark.py --official: our GALD, DGCN and SPNet
modules against the official arithmetic of mmext_pixel.testing, in-process
at small inputs and once as a subprocess. Timings are not asserted: the two
sides of every row must compute the same output (or differ on purpose, for
the GA bound), and a disagreement must stop the benchmark."""
import json
from pathlib import Path

import pytest
import torch

from conftest import load_tool, run_tool
from mmext_pixel.testing import gald_dgcn_reference as ref
from mmext_pixel.utils.run_config import load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
GALD = 'configs/gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py'
DGCN = 'configs/dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py'
SPNET = 'configs/spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py'
FCN = 'configs/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py'
# GALD's block downsamples its input four times by unpadded stride-2
# convolutions: a 257 crop (a 33 x 33 feature) is about the smallest it takes
GALD_SHAPE = (257, 257)

bench = load_tool('analysis_tools', 'benchmark.py')


def _config(path):
    return load_config(str(REPO_ROOT / path))


def test_gald_rows_agree_and_the_bound_is_marked(tmp_path, capsys):
    out = tmp_path / 'r.json'
    result = bench.main([
        str(REPO_ROOT / GALD), '--official', '--shape', '257', '--runs', '1',
        '--module-runs', '2', '--warmup', '0', '--out',
        str(out)
    ])
    rows = result['rows']
    assert list(rows) == ['head', 'ga', 'ga_bound', 'ga_grouping']
    for name, row in rows.items():
        runs = 1 if name == 'head' else 2
        for side in ('ours', 'official'):
            assert len(row[side]['times_ms']) == runs
            assert row[side]['min_ms'] > 0
        assert row['ratio_median'] == pytest.approx(
            row['ours']['median_ms'] / row['official']['median_ms'])
        if name == 'ga_bound':
            assert row['max_rel_diff'] is None
        else:
            assert row['max_rel_diff'] <= bench.AGREEMENT, name
    assert result['shape'] == GALD_SHAPE
    assert json.loads(out.read_text())['rows'].keys() == rows.keys()
    printed = capsys.readouterr().out
    assert 'ga_bound: outputs differ on purpose' in printed
    assert printed.count('ratio ours / official') == 4


def test_spnet_rows_time_the_head_and_the_trunk():
    cfg = _config(SPNET)
    rows = bench.official_rows(cfg, (41, 57))
    assert list(rows) == ['head', 'trunk']
    with torch.no_grad():
        assert rows['trunk']['ours']().shape == (1, 2048, 6, 8)
        assert rows['head']['ours']().shape == (1, 150, 6, 8)
    result = bench.benchmark_official(cfg, (41, 57), warmup=0, runs=2)
    for row in result['rows'].values():
        assert row['max_rel_diff'] <= bench.AGREEMENT
        assert len(row['ours']['times_ms']) == 2


def test_default_shape_is_the_configs_crop(monkeypatch):
    """Without --shape the rows are built at the crop the config trains
    on (DGCN: 832 x 832, a 104 x 104 feature)."""
    seen = {}

    def rows(cfg, shape, device='cpu'):
        seen['shape'] = shape
        return {}

    monkeypatch.setattr(bench, 'official_rows', rows)
    result = bench.benchmark_official(_config(DGCN), runs=1)
    assert seen['shape'] == (832, 832) == result['shape']


def test_a_disagreeing_row_stops_the_benchmark(monkeypatch):
    """An official GA that is off by a little in one place: the 'ga' row
    (and the head, which computes it) no longer agree, which is an error
    naming the row."""

    def off_by_a_little(sd, prefix, x, groups=8):
        y = official_ga_loop(sd, prefix, x, groups).clone()
        y[0, 0, 0, 0] += y.abs().max()
        return y

    official_ga_loop = ref.official_ga_loop
    monkeypatch.setattr(ref, 'official_ga_loop', off_by_a_little)
    with pytest.raises(RuntimeError, match="disagree on the 'head' row"):
        bench.benchmark_official(_config(GALD), GALD_SHAPE, warmup=0, runs=1)


def test_heads_without_a_reference_are_refused():
    with pytest.raises(ValueError, match='FCNHead, which has no official'):
        bench.official_rows(_config(FCN), (64, 64))


def test_official_and_compare_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        bench.parse_args([DGCN, '--official', '--compare', FCN])
    assert 'not allowed with argument' in capsys.readouterr().err


def test_cuda_without_a_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match='--device cuda: no CUDA device'):
        bench.benchmark_official(_config(DGCN), (64, 64), device='cuda')


def test_cli_runs_from_the_repository_root():
    out = run_tool([
        'tools/analysis_tools/benchmark.py', DGCN, '--official', '--shape',
        '65', '97', '--runs', '1', '--warmup', '0', '--threads', '1'
    ],
                   cwd=REPO_ROOT,
                   timeout=300).stdout
    assert f'{DGCN} against the official arithmetic: input (H, W) (65, 97)' \
        in out
    assert 'ratio ours / official: median' in out


def test_ga_bound_is_the_ga_without_its_scalars():
    """With ``p == g`` and a non-negative input every scalar is a large
    positive sum of squares, which GroupNorm cancels (up to eps): the
    official GA then equals its attention-free part. With ``p == -g`` the
    scalars are negative and flip the normalised output's sign instead."""
    sd = ref.official_head_state('gald', channels=64, groups=8)
    prefix = 'head.a2block.long_relation'
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 64, 9, 11, generator=gen)
    bound = ref.ga_attention_free_part(sd, prefix, x)

    sd[f'{prefix}.g.weight'] = sd[f'{prefix}.p.weight'].clone()
    torch.testing.assert_close(
        ref.official_ga_loop(sd, prefix, x), bound, rtol=1e-4, atol=1e-4)

    sd[f'{prefix}.g.weight'] = -sd[f'{prefix}.p.weight']
    gn_bias = sd[f'{prefix}.gn.bias'].view(1, -1, 1, 1)
    flipped = 2 * (x + gn_bias) - bound
    torch.testing.assert_close(
        ref.official_ga_loop(sd, prefix, x), flipped, rtol=1e-4, atol=1e-4)


def test_agreement_is_checked_without_tf32():
    """cuDNN's TF32 convolutions (on by default) would round the sides'
    float32 differences past the agreement bound on CUDA: the check runs
    with TF32 off and leaves the settings as they were."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = cudnn.allow_tf32, matmul.allow_tf32
    seen = []
    try:
        cudnn.allow_tf32 = matmul.allow_tf32 = True
        out = bench._exact_float32(lambda: seen.append(
            (cudnn.allow_tf32, matmul.allow_tf32)) or torch.ones(1))
        assert seen == [(False, False)] and out.item() == 1
        assert (cudnn.allow_tf32, matmul.allow_tf32) == (True, True)
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = saved
