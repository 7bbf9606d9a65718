"""tools/gpu_check.py as a user runs it: a step that fails fails the run
(exit 1) naming the config and the step. The steps themselves are tested
in tests/apis/test_gpu_check.py."""
import json
import os.path as osp

import pytest

from conftest import REPO_ROOT, run_tool

TOOL = osp.join(REPO_ROOT, 'tools', 'gpu_check.py')


@pytest.mark.slow
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
    table = (work / 'gpu_check.md').read_text()
    assert 'FAILED: FloatingPointError' in table
    # the table and the mmcv build it ran with are printed, with the files
    assert r['mmcv'] in proc.stdout and table in proc.stdout
    assert f'written: {work}/gpu_check.json, {work}/gpu_check.md' in (
        proc.stdout)
