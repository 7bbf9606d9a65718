"""tools/gpu_check.py --device cpu --smoke, run as a user runs it: every
step kind of a GPU run (training in float32, the AMP step reported as
skipped on the CPU with its reason, the cost against the counterpart,
``tools/test.py --aug-test``, the ONNX export run by ONNX Runtime) on one
segmentation config with a baseline and the pose config. Times are checked
to be measured (positive), never against a bound."""
import json
import math
import os.path as osp

from conftest import REPO_ROOT, load_tool, run_tool

TOOL = osp.join(REPO_ROOT, 'tools', 'gpu_check.py')
STEPS = ('train_fp32', 'train_amp', 'cost', 'aug_test', 'onnx')


def test_every_method_has_its_main_config():
    tool = load_tool('gpu_check.py')
    assert set(tool.METHODS) == {
        'gsto', 'gald', 'dgcn', 'gscnn', 'spnet', 'gsto_pose'
    }
    for method, (config, counterpart) in tool.METHODS.items():
        assert osp.isfile(osp.join(REPO_ROOT, 'configs', config)), config
        assert set(tool.SMOKE) >= set(tool.METHODS)
        if counterpart not in (None, 'official'):
            assert osp.isfile(osp.join(REPO_ROOT, 'configs', counterpart))


def test_smoke_run_writes_every_row(tmp_path):
    work = tmp_path / 'check'
    out = run_tool([
        TOOL, '--device', 'cpu', '--smoke', '--only', 'gsto', 'gsto_pose',
        '--work-dir',
        str(work)
    ],
                   cwd=str(tmp_path),
                   timeout=600).stdout
    r = json.loads((work / 'gpu_check.json').read_text())
    table = (work / 'gpu_check.md').read_text()
    assert r['device'] == 'cpu' and r['smoke'] and r['iters'] == 2
    # the mmcv build is named: CUDA ops, CPU ops or none
    assert r['mmcv'].startswith('mmcv 2.1.0, ')
    assert any(k in r['mmcv']
               for k in ('CPU ops', 'CUDA ops', 'ops not importable'))
    assert r['mmcv'] in table and r['mmcv'] in out
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
        assert steps['cost']['median_ms'] > 0
        assert steps['aug_test']['images'] == 2
        assert steps['onnx']['provider'] == 'CPUExecutionProvider'
        line = next(ln for ln in table.splitlines()
                    if ln.startswith(f'| {method} |'))
        assert f'{fp32["first_loss"]:.3f} / {fp32["last_loss"]:.3f}' in line
        assert line.endswith('| ok | ok (CPUExecutionProvider) |')
    assert r['methods']['gsto']['steps']['train_fp32']['batch'] == 2
    assert r['methods']['gsto']['steps']['train_fp32']['shape'] == [64, 64]

    # GSTO against FCN-HRNet (benchmark_train.py, its JSON kept)
    cost = r['methods']['gsto']['steps']['cost']
    bench = json.loads(open(cost['json']).read())
    assert bench['baseline'].endswith('gsto_baseline.py')
    assert cost['median_ms'] == bench['steps']['model']['median_ms']
    assert cost['ratios']['median'] == bench['ratios']['median']
    assert cost['peak_mib'] > 0 and cost['ratios']['peak_memory'] > 0
    assert f'{cost["ratios"]["median"]:.3f} / ' in table
    # the pose config: its own step, no baseline
    pose = r['methods']['gsto_pose']['steps']
    assert pose['cost']['baseline'].startswith('n/a')
    assert pose['cost']['median_ms'] == pose['train_fp32']['median_step_ms']
    assert pose['train_fp32']['shape'] == [96, 64]
    assert pose['onnx']['outputs']['heatmaps'] == [1, 17, 24, 16]


def test_a_failing_step_fails_the_run_naming_the_config(tmp_path):
    """A loss that is not finite (a weight beyond float32's range) fails
    ``train_fp32``: exit 1, the config and the step named, the steps that
    need its weights skipped."""
    work = tmp_path / 'check'
    proc = run_tool([
        TOOL, '--device', 'cpu', '--smoke', '--only', 'gsto', '--work-dir',
        str(work), '--cfg-options', 'model.decode_head.loss_decode.'
        'loss_weight=1e39'
    ],
                    cwd=str(tmp_path),
                    timeout=600,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert ('FAILED gsto/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py: '
            'train_fp32: FloatingPointError: step 1: loss inf') in proc.stdout
    r = json.loads((work / 'gpu_check.json').read_text())
    steps = r['methods']['gsto']['steps']
    assert steps['train_fp32']['status'] == 'failed'
    for name in ('cost', 'aug_test', 'onnx'):
        assert steps[name] == dict(
            status='skipped', reason='train_fp32 failed')
    assert 'FAILED: FloatingPointError' in (work / 'gpu_check.md').read_text()
