"""tools/analysis_tools/get_flops.py as a user runs it from the repository
root: exit status and the printed counts (the counting is tested in-process
by tests/analysis/test_complexity.py)."""
import re
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


def test_get_flops_cli():
    out = run_tool([TOOL, CITYSCAPES_V1, '--shape', '64', '128'],
                   cwd=str(REPO_ROOT),
                   timeout=300).stdout
    assert 'Input shape (H, W): (64, 128)' in out
    params = int(re.search(r'Params: ([\d,]+)', out).group(1).replace(',', ''))
    cfg = load_config(CITYSCAPES_V1)
    assert params == get_complexity(cfg, (64, 128))['params']
    gflops = float(re.search(r'GFLOPs: ([\d.]+)', out).group(1))
    assert gflops > 0
