"""mmext_pixel.analysis.latency: forward latency and peak memory of a
config's model, and our GALD, DGCN and SPNet modules against the official
arithmetic of mmext_pixel.testing, in-process at small inputs on the CPU.
Timings are not asserted: the report's numbers must be those of its runs,
the two sides of every official row must compute the same output (or
differ on purpose, for the GA bound), and a disagreement must stop the
benchmark."""
import statistics
from pathlib import Path

import pytest
import torch

from mmext_pixel.analysis import latency
from mmext_pixel.testing import gald_dgcn_reference as ref
from mmext_pixel.utils.run_config import load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
CITYSCAPES_V1 = str(
    REPO_ROOT / 'configs/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py')
CITYSCAPES_V2 = str(
    REPO_ROOT / 'configs/hrnet/fcn_hr18s-v2_4xb2-80k_cityscapes-512x1024.py')
GALD = 'configs/gald/gald_r50-d8_8xb1-50k_cityscapes-769x769.py'
DGCN = 'configs/dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py'
SPNET = 'configs/spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py'
FCN = 'configs/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py'
# GALD's block downsamples its input four times by unpadded stride-2
# convolutions: a 257 crop (a 33 x 33 feature) is about the smallest it takes
GALD_SHAPE = (257, 257)


def _config(path):
    return load_config(str(REPO_ROOT / path))


# ----------------------------------------------------------- one config


def test_forward_latency():
    result = latency.latency_of_configs([CITYSCAPES_V1],
                                        None, (64, 64),
                                        warmup=1,
                                        runs=3)['results'][0]
    times = result['times_ms']
    assert len(times) == 3 and all(t > 0 for t in times)
    assert result['mean_ms'] == pytest.approx(statistics.fmean(times))
    assert result['median_ms'] == pytest.approx(statistics.median(times))
    assert result['min_ms'] == min(times) <= result['median_ms']
    assert result['peak_memory_mib'] > 0
    assert 0 <= result['peak_memory_increase_mib'] <= result['peak_memory_mib']
    assert result['device'] == 'cpu' and result['input_shape'] == (64, 64)
    assert 'alternating' not in result


def test_forward_latency_arguments():
    with pytest.raises(ValueError, match='runs'):
        latency.latency_of_configs([CITYSCAPES_V1], None, (64, 64), 0, 0)
    with pytest.raises(ValueError, match='device'):
        latency.latency_of_configs([CITYSCAPES_V1],
                                   None, (64, 64),
                                   device='tpu')
    with pytest.raises(ValueError, match='one config or two'):
        latency.latency_of_configs([CITYSCAPES_V1] * 3)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='CUDA'):
            latency.latency_of_configs([CITYSCAPES_V1],
                                       None, (64, 64),
                                       device='cuda')


# ------------------------------------------------------------- official


def test_gald_rows_agree_and_the_bound_is_marked():
    result = latency.latency_against_official(
        _config(GALD), (257, ), warmup=0, runs=1, module_runs=2)
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
            assert row['max_rel_diff'] <= latency.AGREEMENT, name
    assert result['shape'] == GALD_SHAPE
    printed = latency.format_official(result)
    assert 'ga_bound: outputs differ on purpose' in printed
    assert printed.count('ratio ours / official') == 4


def test_spnet_rows_time_the_head_and_the_trunk():
    cfg = _config(SPNET)
    rows = latency.official_rows(cfg, (41, 57))
    assert list(rows) == ['head', 'trunk']
    with torch.no_grad():
        assert rows['trunk']['ours']().shape == (1, 2048, 6, 8)
        assert rows['head']['ours']().shape == (1, 150, 6, 8)
    result = latency.latency_against_official(cfg, (41, 57), warmup=0, runs=2)
    for row in result['rows'].values():
        assert row['max_rel_diff'] <= latency.AGREEMENT
        assert len(row['ours']['times_ms']) == 2


def test_default_shape_is_the_configs_crop(monkeypatch):
    """Without a shape the rows are built at the crop the config trains
    on (DGCN: 832 x 832, a 104 x 104 feature)."""
    seen = {}

    def rows(cfg, shape, device='cpu'):
        seen['shape'] = shape
        return {}

    monkeypatch.setattr(latency, 'official_rows', rows)
    result = latency.latency_against_official(_config(DGCN), runs=1)
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
        latency.latency_against_official(
            _config(GALD), GALD_SHAPE, warmup=0, runs=1)


def test_heads_without_a_reference_are_refused():
    with pytest.raises(ValueError, match='FCNHead, which has no official'):
        latency.official_rows(_config(FCN), (64, 64))


def test_cuda_without_a_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match='--device cuda: no CUDA device'):
        latency.latency_against_official(
            _config(DGCN), (64, 64), device='cuda')


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
        out = latency.exact_float32(lambda: seen.append(
            (cudnn.allow_tf32, matmul.allow_tf32)) or torch.ones(1))
        assert seen == [(False, False)] and out.item() == 1
        assert (cudnn.allow_tf32, matmul.allow_tf32) == (True, True)
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = saved
