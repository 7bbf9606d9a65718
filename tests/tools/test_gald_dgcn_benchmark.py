"""tools/analysis_tools/gald_dgcn_benchmark.py, in-process, small input.
Timings are not asserted: the compared sides must agree, and the GA bound
must be the GA without its attention scalars."""
import pytest
import torch

from conftest import load_tool
from mmext_pixel.testing.gald_dgcn_reference import (official_ga_loop,
                                                     official_head_state)

bench = load_tool('analysis_tools', 'gald_dgcn_benchmark.py')


def test_benchmark_rows_agree(tmp_path, capsys):
    out = tmp_path / 'r.json'
    results = bench.main([
        '--size', '33', '--runs', '1', '--ga-runs', '2', '--warmup', '0',
        '--out',
        str(out)
    ])
    assert set(results) == {
        'gald_head', 'gald_ga', 'ga_bound', 'ga_grouping', 'dgcn_head'
    }
    for name, row in results.items():
        assert row['ours_min_ms'] > 0 and row['official_min_ms'] > 0
        if name == 'ga_bound':
            assert row['max_rel_diff'] is None
        else:
            assert row['max_rel_diff'] < 1e-5, name
    assert out.is_file()
    assert 'outputs differ (a bound, not the GA)' in capsys.readouterr().out


def test_ga_bound_is_the_ga_without_its_scalars():
    """With ``p == g`` and a non-negative input every scalar is a large
    positive sum of squares, which GroupNorm cancels (up to eps): the
    official GA then equals its attention-free part. With ``p == -g`` the
    scalars are negative and flip the normalised output's sign instead."""
    sd = official_head_state('gald', channels=64, groups=8)
    prefix = 'head.a2block.long_relation'
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 64, 9, 11, generator=gen)
    bound = bench.ga_attention_free_part(sd, prefix, x)

    sd[f'{prefix}.g.weight'] = sd[f'{prefix}.p.weight'].clone()
    torch.testing.assert_close(
        official_ga_loop(sd, prefix, x), bound, rtol=1e-4, atol=1e-4)

    sd[f'{prefix}.g.weight'] = -sd[f'{prefix}.p.weight']
    gn_bias = sd[f'{prefix}.gn.bias'].view(1, -1, 1, 1)
    flipped = 2 * (x + gn_bias) - bound
    torch.testing.assert_close(
        official_ga_loop(sd, prefix, x), flipped, rtol=1e-4, atol=1e-4)


def test_cuda_without_a_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match='--device cuda: no CUDA device'):
        bench.main(['--device', 'cuda', '--size', '33'])
