"""tools/visualize_gates.py as a user runs it: exit status, message and the
PNGs (the gate values are checked in-process by
tests/visualization/test_gate_maps.py)."""
import os
import os.path as osp

import pytest

from conftest import REPO_ROOT, run_tool
from helpers.gsto_gates import CONFIG, gsto_checkpoint_and_image

pytestmark = pytest.mark.slow  # every test here starts a process


def test_cli_writes_every_gate_map(tmp_path):
    checkpoint, image = gsto_checkpoint_and_image(tmp_path)
    out_dir = tmp_path / 'gates'
    proc = run_tool([
        osp.join(REPO_ROOT, 'tools', 'visualize_gates.py'), CONFIG,
        str(checkpoint),
        str(image), '--out-dir',
        str(out_dir), '--gray'
    ],
                    cwd=str(tmp_path))
    names = os.listdir(out_dir)
    assert len(names) == 4 + 3 * 9 + 2 * 16 + 2
    assert f'{len(names)} gate maps written to {out_dir}' in proc.stdout
