"""tools/analysis_tools/benchmark_train.py at tiny sizes on the CPU.
Timings are not asserted: the report's numbers must be those of its runs,
both sides of a comparison must run the same step, and the memory must come
from one subprocess per model."""
import json
import re

import pytest
import torch
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS

from conftest import REPO_ROOT, load_tool, run_tool

bench = load_tool('analysis_tools', 'benchmark_train.py')
TOOL = f'{REPO_ROOT}/tools/analysis_tools/benchmark_train.py'
CONFIGS = f'{REPO_ROOT}/configs'
GSTO = f'{CONFIGS}/gsto/gsto_hrnet-w18s_1xb8-600_synthetic-urbanisation-' \
    '128x128.py'
FCN = f'{CONFIGS}/hrnet/fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-' \
    '128x128.py'


@pytest.fixture(autouse=True)
def one_thread():
    """Steps on one thread: on a busy machine two threads wait on each
    other at every operator."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_cli_against_a_baseline(tmp_path):
    out_json = tmp_path / 'r.json'
    out = run_tool([
        TOOL, GSTO, '--baseline', FCN, '--shape', '64', '64', '--batch', '2',
        '--iters', '1', '--warmup', '0', '--threads', '1', '--out',
        str(out_json)
    ],
                   cwd=str(tmp_path),
                   timeout=600).stdout
    r = json.loads(out_json.read_text())
    assert (r['batch'], r['shape'], r['threads']) == (2, [64, 64], 1)
    assert r['data_loading'].startswith('excluded')
    assert len(r['load_average']['before']) == 3
    model, base = r['steps']['model'], r['steps']['baseline']
    for s in (model, base):
        assert len(s['times_ms']) == 1 and s['min_ms'] <= s['median_ms']
        assert s['images_per_s'] == pytest.approx(2000 / s['median_ms'])
        assert s['memory']['peak_mib'] > 0
        assert 'peak RSS' in s['memory']['kind']
    assert r['ratios']['median'] == pytest.approx(model['median_ms'] /
                                                  base['median_ms'])
    assert r['ratios']['peak_memory'] == pytest.approx(
        model['memory']['peak_mib'] / base['memory']['peak_mib'])
    printed = float(
        re.search(r'ratio model / baseline \(median\): ([\d.]+)',
                  out).group(1))
    assert printed == pytest.approx(r['ratios']['median'], abs=1e-3)


def test_a_step_trains_the_model():
    """The timed closure is a whole training step: the weights change and
    the loss on the fixed batch goes down over a few steps."""
    cfg = bench.load_config(FCN)
    step = bench.model_step(cfg, 'cpu', False, 2, (64, 64))
    before = [p.detach().clone() for p in step.model.parameters()]
    first = step()
    for _ in range(4):
        last = step()
    assert any(not torch.equal(a, p)
               for a, p in zip(before, step.model.parameters()))
    assert last['loss'] < first['loss']


@pytest.mark.parametrize('config', [
    'spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py',
    'dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py'
])
def test_official_steps_start_from_the_same_function(config):
    """Ours and the official arithmetic: the same weights give the same
    training-mode logits before the first step, and both steps update
    their parameters."""
    cfg = bench.load_config(f'{CONFIGS}/{config}', {
        'model.decode_head.num_classes': 5,
        'model.decode_head.dropout_ratio': 0
    })
    runners = bench.official_steps(cfg, 'cpu', 2, (64, 64))
    ours = revert_sync_batchnorm(MODELS.build(cfg.model.decode_head)).train()
    official, _, _ = bench.official_head(cfg, ours)
    x = torch.randn(2, ours.in_channels, 8, 8)
    with torch.no_grad(), bench.training_mode_references():
        expected = official(x)
    got = ours([None] * ours.in_index + [x])
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-3)
    for runner in runners.values():
        before = [p.detach().clone() for p in runner.parameters]
        runner()
        assert any(not torch.equal(a, p)
                   for a, p in zip(before, runner.parameters))


def test_gscnn_extras_are_timed(tmp_path):
    options = {
        'model.backbone.base_channels': 8,
        'model.backbone.stem_channels': 16,
        'model.decode_head.in_channels': [16, 32, 64, 128, 256],
    }
    cfg = bench.load_config(
        f'{CONFIGS}/gscnn/gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py',
        options)
    step = bench.model_step(cfg, 'cpu', False, 2, (64, 64))
    edges = [s.gt_edge_map.data for s in step.data['data_samples']]
    for edge in edges:
        assert edge.dtype == torch.int64
        assert (edge == 1).any() and (edge == 0).any()
    extras = bench.gscnn_extras(step)
    assert set(extras) == {'boundary_targets', 'dual_task_loss'}
    for fn in extras.values():
        fn()


def test_arguments(capsys):
    with pytest.raises(SystemExit):
        bench.parse_args([FCN, '--amp'])
    assert '--amp needs --device cuda' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse_args([FCN, '--baseline', GSTO, '--official'])
    with pytest.raises(SystemExit):
        bench.parse_args([FCN, '--official', '--amp', '--device', 'cuda'])
    assert '--official times the head in float32 only' in (
        capsys.readouterr().err)
    cfg = bench.load_config(FCN)
    # --shape is the size the network sees: not padded back to the crop
    assert bench.step_settings(cfg, None, (64, 96)) == (8, (64, 96))
    assert tuple(cfg.model.data_preprocessor.size) == (64, 96)
    with pytest.raises(ValueError, match='no official-arithmetic'):
        bench.official_steps(cfg, 'cpu', 1, (64, 64))
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='no CUDA device'):
            bench.check_device('cuda')
