"""tools/analysis_tools/browse_dataset.py as a user runs it: exit status,
message and the PNGs (the overlays are tested in-process by
tests/visualization/test_dataset_browser.py)."""
import os
from pathlib import Path

import pytest

from conftest import run_tool
from mmext_pixel.datasets import make_synthetic_urbanisation

pytestmark = pytest.mark.slow  # every test here starts a process

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = str(REPO_ROOT / 'tools' / 'analysis_tools' / 'browse_dataset.py')
SYNTHETIC = str(
    REPO_ROOT /
    'configs/hrnet/fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128.py')


@pytest.fixture
def synthetic_root(tmp_path):
    """Synthetic tiles under tmp_path/data/synthetic, where the config
    reads them from tmp_path as the working directory."""
    make_synthetic_urbanisation(
        str(tmp_path / 'data' / 'synthetic'),
        num_train=2,
        num_val=2,
        num_test=1,
        size=64,
        seed=0)
    return tmp_path


def test_browse_dataset_cli(synthetic_root):
    out = run_tool([
        TOOL, SYNTHETIC, '--split', 'val', '--num', '2', '--output-dir',
        'cli_out'
    ],
                   cwd=str(synthetic_root),
                   timeout=300).stdout
    assert '2 images written to cli_out' in out
    assert sorted(os.listdir(synthetic_root /
                             'cli_out')) == ['val_0000.png', 'val_0001.png']
