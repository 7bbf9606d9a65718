"""mmext_pixel.apis.gpu_check in the ``smoke`` sizes on the CPU,
in-process: every step kind of a GPU run (training in float32, the AMP step
reported as skipped on the CPU with its reason, the cost against the
counterpart, the ``--aug-test`` test run, the ONNX export run by ONNX
Runtime) on one segmentation config with a baseline and the pose config,
and GSTO's cost ratios, run once for the module. Times are checked to be
measured (positive), never against a bound. The command line is tested in
tests/tools/test_gpu_check.py."""
import json
import math
import os.path as osp
import statistics

import pytest
import torch

from conftest import REPO_ROOT
from mmext_pixel.analysis import training_cost
from mmext_pixel.apis import gpu_check, gpu_check_configs
from mmext_pixel.utils.run_config import load_config

STEPS = ('train_fp32', 'train_amp', 'cost', 'aug_test', 'onnx')
GSTO_COST = ('gsto fp32', 'gsto amp', 'gsto_pose fp32', 'gsto_pose amp')


def test_every_method_has_its_main_config():
    methods = gpu_check_configs.METHODS
    assert set(methods) == {
        'gsto', 'gald', 'dgcn', 'gscnn', 'spnet', 'gsto_pose'
    }
    assert gpu_check.STEPS == STEPS
    for method, (config, counterpart, crop) in methods.items():
        assert osp.isfile(osp.join(REPO_ROOT, 'configs', config)), config
        assert gpu_check_configs.shipped_path('configs', config) == osp.join(
            REPO_ROOT, 'configs', config)
        assert min(crop if isinstance(crop, tuple) else (crop, )) >= 64
        if counterpart not in (None, 'official'):
            assert osp.isfile(osp.join(REPO_ROOT, 'configs', counterpart))


def test_shipped_files_of_an_installed_package(tmp_path, monkeypatch):
    """Outside a checkout the configs and tools are the package's ``.mim``
    copies, as MIM installs them; a file in neither place is named."""
    mim = tmp_path / 'mmext_pixel' / '.mim' / 'configs'
    mim.mkdir(parents=True)
    (mim / 'a.py').write_text('')
    monkeypatch.setattr(gpu_check_configs, 'PACKAGE_ROOT', str(tmp_path))
    assert gpu_check_configs.shipped_path('configs',
                                          'a.py') == str(mim / 'a.py')
    with pytest.raises(FileNotFoundError, match='tools/test.py'):
        gpu_check_configs.shipped_path('tools', 'test.py')


def test_settings_are_checked(tmp_path):
    settings = gpu_check_configs.GPUCheckSettings
    with pytest.raises(ValueError, match='iters must be >= 2, got 1'):
        gpu_check.run_gpu_check(settings('cpu', iters=1), str(tmp_path))
    with pytest.raises(ValueError, match=r"unknown methods \['nope'\]"):
        gpu_check.run_gpu_check(settings('cpu'), str(tmp_path), ['nope'])


@pytest.fixture(scope='module')
def smoke_run(tmp_path_factory):
    """``--device cpu --smoke --only gsto gsto_pose``, in this process; its
    result, the files it wrote and its progress lines. The threads it sets
    for the smoke sizes are restored afterwards."""
    work = tmp_path_factory.mktemp('gpu_check')
    lines = []
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('OMP_NUM_THREADS', '1')
        result = gpu_check.run_gpu_check(
            gpu_check_configs.GPUCheckSettings('cpu', smoke=True, iters=2),
            str(work), ['gsto', 'gsto_pose'], lines.append)
    torch.set_num_threads(threads)
    return dict(
        work=work,
        result=result,
        json=json.loads((work / 'gpu_check.json').read_text()),
        table=(work / 'gpu_check.md').read_text(),
        log=lines)


def _cells(table, first):
    line = next(ln for ln in table.splitlines()
                if ln.startswith('|') and ln.split('|')[1].strip() == first)
    return [c.strip() for c in line.split('|')[1:-1]]


@pytest.mark.slow
def test_smoke_run_writes_every_row(smoke_run):
    r, table = smoke_run['json'], smoke_run['table']
    assert r == json.loads(json.dumps(smoke_run['result']))
    assert table == gpu_check.markdown(r)
    assert r['device'] == 'cpu' and r['smoke'] and r['iters'] == 2
    # the mmcv build is named: CUDA ops, CPU ops or none
    assert r['mmcv'].startswith('mmcv 2.1.0, ')
    assert any(k in r['mmcv']
               for k in ('CPU ops', 'CUDA ops', 'ops not importable'))
    assert r['mmcv'] in table
    assert smoke_run['log'][0] == f'gpu_check: cpu, {r["mmcv"]}'
    assert list(r['methods']) == ['gsto', 'gsto_pose']
    for method, row in r['methods'].items():
        steps = row['steps']
        assert set(steps) == set(STEPS)
        assert row['config'] in table
        fp32 = steps['train_fp32']
        assert fp32['status'] == 'ok', fp32
        assert len(fp32['losses']) == 2
        assert all(math.isfinite(v) and v > 0 for v in fp32['losses'])
        # the first step is untimed (it allocates)
        assert len(fp32['times_ms']) == 1
        assert all(t > 0 for t in fp32['times_ms'])
        assert fp32['median_step_ms'] == pytest.approx(
            statistics.median(fp32['times_ms']))
        amp = steps['train_amp']
        assert amp['status'] == 'skipped'
        assert 'AmpOptimWrapper needs CUDA' in amp['reason']
        for name in ('cost', 'aug_test', 'onnx'):
            assert steps[name]['status'] == 'ok', (method, steps[name])
            assert f'[{method}] {name}: ok' in smoke_run['log']
        assert steps['cost']['median_ms'] > 0
        assert steps['aug_test']['images'] == 2
        assert steps['onnx']['provider'] == 'CPUExecutionProvider'
        cells = _cells(table, method)
        assert cells[3] == (f'{fp32["first_loss"]:.3f} / '
                            f'{fp32["last_loss"]:.3f}')
        assert cells[-2:] == ['ok', 'ok (CPUExecutionProvider)']
    gsto = r['methods']['gsto']['steps']
    assert gsto['train_fp32']['batch'] == 2
    assert gsto['train_fp32']['shape'] == [64, 64]
    # the test runs in this process through apis.tester: its metrics
    assert 0 <= gsto['aug_test']['metrics']['mIoU'] <= 100
    pose_metrics = r['methods']['gsto_pose']['steps']['aug_test']['metrics']
    assert 'coco/AP' in pose_metrics


@pytest.mark.slow
def test_smoke_cost_against_the_counterpart(smoke_run):
    r, table = smoke_run['json'], smoke_run['table']
    # GSTO against FCN-HRNet (the training cost's JSON kept)
    cost = r['methods']['gsto']['steps']['cost']
    bench = json.loads(open(cost['json']).read())
    assert bench['baseline'].endswith('gsto_baseline.py')
    assert cost['median_ms'] == bench['steps']['model']['median_ms']
    assert cost['ratios']['median'] == bench['ratios']['median']
    assert cost['peak_mib'] > 0 and cost['ratios']['peak_memory'] > 0
    # each model's peak memory from a process of its own
    (bench_model, bench_base) = (
        bench['steps'][k] for k in ('model', 'baseline'))
    for s in (bench_model, bench_base):
        assert s['memory']['peak_mib'] > 0
        assert 'peak RSS' in s['memory']['kind']
        assert s['images_per_s'] == pytest.approx(2000 / s['median_ms'])
    assert bench['ratios']['peak_memory'] == pytest.approx(
        bench_model['memory']['peak_mib'] / bench_base['memory']['peak_mib'])
    assert bench['batch'] == 2 and bench['threads'] == 1
    assert 'each model in its own process' in training_cost.format_report(
        bench)
    assert f'{cost["ratios"]["median"]:.3f} / ' in table
    # the pose config: its own step, no baseline
    pose = r['methods']['gsto_pose']['steps']
    assert pose['cost']['baseline'].startswith('n/a')
    assert pose['cost']['median_ms'] == pose['train_fp32']['median_step_ms']
    assert pose['train_fp32']['shape'] == [96, 64]
    assert pose['onnx']['outputs']['heatmaps'] == [1, 17, 24, 16]


@pytest.mark.slow
def test_smoke_gsto_cost_ratios(smoke_run):
    """Issue 32's ratios at tiny widths: GSTO against FCN-HRNet and against
    mmpose's top-down HRNet (the same tiny trunk widths), fp32 measured,
    AMP skipped without CUDA; the table shows what the JSON holds."""
    r, table, work = smoke_run['json'], smoke_run['table'], smoke_run['work']
    rows = r['gsto_cost']
    assert list(rows) == list(GSTO_COST)
    for key in ('gsto fp32', 'gsto_pose fp32'):
        row = rows[key]
        assert row['status'] == 'ok', row
        # step_and_forward_ratios: each ratio the quotient of its medians
        assert set(row) - {'status', 'counterpart'} == {
            'train_step', 'inference'
        }
        for what in ('train_step', 'inference'):
            v = row[what]
            assert v['model_ms'] > 0 and v['baseline_ms'] > 0
            assert v['ratio'] == pytest.approx(v['model_ms'] /
                                               v['baseline_ms'])
        assert _cells(table, key)[2:4] == [
            f'{row["train_step"]["ratio"]:.3f}',
            f'{row["inference"]["ratio"]:.3f}'
        ]
    for key in ('gsto amp', 'gsto_pose amp'):
        assert rows[key]['status'] == 'skipped'
        assert _cells(table, key)[2] == 'skipped: AMP needs CUDA'
    assert rows['gsto_pose fp32']['counterpart'].endswith(
        'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py')
    pose_base = load_config(str(work / 'configs' / 'gsto_pose_baseline.py'))
    assert pose_base.model.backbone.type == 'HRNet'
    assert pose_base.model.head.type == 'HeatmapHead'
    assert pose_base.model.head.in_channels == gpu_check_configs.TINY_HRNET[0]
    seg_base = load_config(str(work / 'configs' / 'gsto_baseline.py'))
    assert seg_base.model.decode_head.type == 'FCNHead'


@pytest.mark.slow
def test_gsto_cost_on_cuda_reports_fp32_and_amp(smoke_run, monkeypatch):
    """What a CUDA run reports, without CUDA: both precisions of both pairs
    are measured (amp passed on), each on its own prepared configs."""
    calls = []

    def ratios(cfg, base_cfg, device, amp, iters, warmup, data):
        calls.append((cfg.default_scope, base_cfg.filename, device, amp))
        return dict(
            train_step=dict(model_ms=2.0, baseline_ms=1.0, ratio=2.0),
            inference=dict(model_ms=3.0, baseline_ms=2.0, ratio=1.5))

    monkeypatch.setattr(gpu_check, 'step_and_forward_ratios', ratios)
    settings = gpu_check_configs.GPUCheckSettings('cuda', smoke=True)
    rows = gpu_check.gsto_cost(settings, str(smoke_run['work']),
                               ['gsto', 'gsto_pose'])
    assert list(rows) == list(GSTO_COST)
    assert [(c[0], c[2], c[3]) for c in calls] == [('mmseg', 'cuda', False),
                                                   ('mmseg', 'cuda', True),
                                                   ('mmpose', 'cuda', False),
                                                   ('mmpose', 'cuda', True)]
    assert all(row['status'] == 'ok' for row in rows.values())
    table = gpu_check.markdown(dict(smoke_run['json'], gsto_cost=rows))
    assert _cells(table,
                  'gsto_pose amp')[2:] == ['2.000', '1.500', '2.0 / 1.0']
