"""tools/analysis_tools/get_flops.py as a user runs it from the repository
root: exit status, the report and its JSON (the counting is tested
in-process by tests/analysis/test_complexity.py)."""
import json
from pathlib import Path

import pytest

from conftest import run_tool
from mmext_pixel.analysis.complexity import get_complexity
from mmext_pixel.utils.run_config import load_config

pytestmark = pytest.mark.slow  # every test here starts a process

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = str(REPO_ROOT / 'tools' / 'analysis_tools' / 'get_flops.py')
CITYSCAPES_V1 = str(
    REPO_ROOT / 'configs/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py')


def test_get_flops_cli(tmp_path):
    out_json = tmp_path / 'flops.json'
    out = run_tool(
        [TOOL, CITYSCAPES_V1, '--shape', '64', '128', '--out',
         str(out_json)],
        cwd=str(REPO_ROOT),
        timeout=300).stdout
    result = json.loads(out_json.read_text())
    assert result['shape'] == [64, 128]
    assert 'Input shape (H, W): (64, 128)' in out
    expected = get_complexity(load_config(CITYSCAPES_V1), (64, 128))
    assert result['params'] == expected['params']
    assert result['flops'] == expected['flops'] > 0
    assert f'Params: {result["params"]:,}' in out
    assert f'results written to {out_json}' in out
