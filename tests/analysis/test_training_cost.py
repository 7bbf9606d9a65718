"""mmext_pixel.analysis.training_cost at tiny sizes on the CPU, in-process.
Timings are not asserted: the report's numbers must be those of its runs,
both sides of a comparison must run the same step, and the memory must come
from one subprocess per model."""
import pytest
import torch
from mmengine.config import Config

from conftest import REPO_ROOT
from mmext_pixel.analysis import training_cost as cost
from mmext_pixel.analysis.official_heads import official_head
from mmext_pixel.analysis.timing import check_device
from mmext_pixel.testing.layers import batch_statistics
from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import load_config

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


def test_against_a_baseline():
    """Both steps timed in turn, the ratios and the report from those
    numbers. Each model's peak memory from a process of its own is checked
    on the GPU check's smoke run (tests/apis/test_gpu_check_api.py), which
    measures GSTO against FCN-HRNet the same way."""
    r = cost.training_cost(
        GSTO,
        baseline=FCN,
        shape=[64, 64],
        batch=2,
        iters=1,
        warmup=0,
        threads=1,
        memory=False)
    assert (r['batch'], r['shape'], r['threads']) == (2, [64, 64], 1)
    assert r['data_loading'].startswith('excluded')
    assert len(r['load_average']['before']) == 3
    model, base = r['steps']['model'], r['steps']['baseline']
    for s in (model, base):
        assert len(s['times_ms']) == 1 and s['min_ms'] <= s['median_ms']
        assert s['images_per_s'] == pytest.approx(2000 / s['median_ms'])
        assert 'memory' not in s
    assert r['ratios']['median'] == pytest.approx(model['median_ms'] /
                                                  base['median_ms'])
    out = cost.format_report(r)
    assert (f'ratio model / baseline (median): {r["ratios"]["median"]:.3f}'
            in out)


def test_a_step_trains_the_model():
    """The timed closure is a whole training step: the weights change and
    the loss on the fixed batch goes down over a few steps."""
    cfg = load_config(FCN)
    step = cost.model_step(cfg, 'cpu', False, 2, (64, 64))
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
    cfg = load_config(f'{CONFIGS}/{config}', {
        'model.decode_head.num_classes': 5,
        'model.decode_head.dropout_ratio': 0
    })
    runners = cost.official_steps(cfg, 'cpu', 2, (64, 64))
    ours = build_model(
        Config(dict(model=cfg.model.decode_head,
                    default_scope='mmseg'))).train()
    official, _, _ = official_head(cfg, ours)
    x = torch.randn(2, ours.in_channels, 8, 8)
    with torch.no_grad(), batch_statistics():
        expected = official(x)
    got = ours([None] * ours.in_index + [x])
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-3)
    for runner in runners.values():
        before = [p.detach().clone() for p in runner.parameters]
        runner()
        assert any(not torch.equal(a, p)
                   for a, p in zip(before, runner.parameters))


def test_gscnn_extras_are_timed():
    options = {
        'model.backbone.base_channels': 8,
        'model.backbone.stem_channels': 16,
        'model.decode_head.in_channels': [16, 32, 64, 128, 256],
    }
    cfg = load_config(
        f'{CONFIGS}/gscnn/gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py',
        options)
    step = cost.model_step(cfg, 'cpu', False, 2, (64, 64))
    edges = [s.gt_edge_map.data for s in step.data['data_samples']]
    for edge in edges:
        assert edge.dtype == torch.int64
        assert (edge == 1).any() and (edge == 0).any()
    extras = cost.gscnn_extras(step)
    assert set(extras) == {'boundary_targets', 'dual_task_loss'}
    for fn in extras.values():
        fn()


def test_settings():
    cfg = load_config(FCN)
    # the shape is the size the network sees: not padded back to the crop
    assert cost.step_settings(cfg, None, (64, 96)) == (8, (64, 96))
    assert tuple(cfg.model.data_preprocessor.size) == (64, 96)
    with pytest.raises(ValueError, match='no official-arithmetic'):
        cost.official_steps(cfg, 'cpu', 1, (64, 64))
    cityscapes = f'{CONFIGS}/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-' \
        '512x1024.py'
    with pytest.raises(
            ValueError,
            match='trains on 2 x .512, 1024.*'
            'give --batch and --shape'):
        cost.training_cost(FCN, baseline=cityscapes, memory=False)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='no CUDA device'):
            check_device('cuda')


@pytest.mark.slow
def test_each_models_memory_in_a_process_of_its_own():
    """A spawned process measures a step's peak memory: more for a batch
    of 4 than for a batch of 1 (activations grow with the batch)."""
    one, four = (
        cost.step_memory_alone(FCN, None, 'cpu', False, b, (64, 64), 1)
        for b in (1, 4))
    assert 0 < one['peak_mib'] < four['peak_mib']
    assert one['kind'].startswith('increase of the peak RSS over two steps')
    with pytest.raises(RuntimeError, match='memory measurement of .* failed'):
        cost.step_memory_alone(FCN, None, 'tpu')
