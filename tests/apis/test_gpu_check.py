"""mmext_pixel.analysis.gpu_check in the ``smoke`` sizes on the CPU,
in-process: every step kind of a GPU run (training in float32, the AMP step
reported as skipped on the CPU with its reason, the cost against the
counterpart, ``tools/test.py --aug-test``, the ONNX export run by ONNX
Runtime) on one segmentation config with a baseline and the pose config,
run once for the module. Times are checked to be measured (positive), never
against a bound. The command line is tested in
tests/tools/test_gpu_check_cli.py."""
import json
import math
import os.path as osp

import pytest
import torch

from conftest import REPO_ROOT
from mmext_pixel.analysis import gpu_check, training_cost

STEPS = ('train_fp32', 'train_amp', 'cost', 'aug_test', 'onnx')


def test_every_method_has_its_main_config():
    assert set(gpu_check.METHODS) == {
        'gsto', 'gald', 'dgcn', 'gscnn', 'spnet', 'gsto_pose'
    }
    assert gpu_check.STEPS == STEPS
    for method, (config, counterpart) in gpu_check.METHODS.items():
        assert osp.isfile(osp.join(REPO_ROOT, 'configs', config)), config
        assert gpu_check.shipped_path('configs', config) == osp.join(
            REPO_ROOT, 'configs', config)
        assert set(gpu_check.SMOKE) >= set(gpu_check.METHODS)
        if counterpart not in (None, 'official'):
            assert osp.isfile(osp.join(REPO_ROOT, 'configs', counterpart))


def test_shipped_files_of_an_installed_package(tmp_path, monkeypatch):
    """Outside a checkout the configs and tools are the package's ``.mim``
    copies, as MIM installs them; a file in neither place is named."""
    mim = tmp_path / 'mmext_pixel' / '.mim' / 'configs'
    mim.mkdir(parents=True)
    (mim / 'a.py').write_text('')
    monkeypatch.setattr(gpu_check, 'PACKAGE_ROOT', str(tmp_path))
    assert gpu_check.shipped_path('configs', 'a.py') == str(mim / 'a.py')
    with pytest.raises(FileNotFoundError, match='tools/test.py'):
        gpu_check.shipped_path('tools', 'test.py')


def test_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match='iters must be >= 2, got 1'):
        gpu_check.run_gpu_check(
            gpu_check.GPUCheckSettings('cpu', iters=1), str(tmp_path))
    with pytest.raises(ValueError, match=r"unknown methods \['nope'\]"):
        gpu_check.run_gpu_check(
            gpu_check.GPUCheckSettings('cpu'), str(tmp_path), ['nope'])


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
            gpu_check.GPUCheckSettings('cpu', smoke=True, iters=2), str(work),
            ['gsto', 'gsto_pose'], lines.append)
    torch.set_num_threads(threads)
    return dict(
        result=result,
        json=json.loads((work / 'gpu_check.json').read_text()),
        table=(work / 'gpu_check.md').read_text(),
        log=lines)


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
        assert all(t > 0 for t in fp32['times_ms'])
        assert fp32['median_step_ms'] == fp32['times_ms'][1]
        amp = steps['train_amp']
        assert amp['status'] == 'skipped'
        assert 'AmpOptimWrapper needs CUDA' in amp['reason']
        for name in ('cost', 'aug_test', 'onnx'):
            assert steps[name]['status'] == 'ok', (method, steps[name])
            assert f'[{method}] {name}: ok' in smoke_run['log']
        assert steps['cost']['median_ms'] > 0
        assert steps['aug_test']['images'] == 2
        assert steps['onnx']['provider'] == 'CPUExecutionProvider'
        line = next(ln for ln in table.splitlines()
                    if ln.startswith(f'| {method} |'))
        assert f'{fp32["first_loss"]:.3f} / {fp32["last_loss"]:.3f}' in line
        assert line.endswith('| ok | ok (CPUExecutionProvider) |')
    assert r['methods']['gsto']['steps']['train_fp32']['batch'] == 2
    assert r['methods']['gsto']['steps']['train_fp32']['shape'] == [64, 64]


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
