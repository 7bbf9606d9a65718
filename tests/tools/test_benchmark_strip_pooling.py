"""tools/analysis_tools/benchmark_strip_pooling.py, in-process, tiny input.
Timings are not asserted; the two sides must compute the same outputs."""
from conftest import load_tool


def test_benchmark_compares_equal_outputs(tmp_path, capsys):
    bench = load_tool('analysis_tools', 'benchmark_strip_pooling.py')
    out = tmp_path / 'r.json'
    r = bench.main([
        '--shape', '41', '57', '--warmup', '0', '--runs', '2', '--out',
        str(out)
    ])
    assert r['feature_shape'] == (1, 2048, 6, 8)
    assert max(r['max_abs_diff'].values()) < 1e-3
    for name in ('head', 'trunk'):
        assert len(r[name]['ours']['times_ms']) == 2
        assert r[name]['ratio'] > 0
    assert out.is_file()
    assert 'ours / official' in capsys.readouterr().out
