"""tools/model_converters/gscnn2mmseg.py's command line (the conversion
against the official arithmetic: tests/converters/test_gscnn.py)."""
import os.path as osp
from fractions import Fraction

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT, run_tool
from helpers.numpy1_pickle import save_with_numpy1_names

CONVERTER = osp.join(REPO_ROOT, 'tools', 'model_converters', 'gscnn2mmseg.py')


@pytest.mark.slow
def test_command_line(tmp_path):
    """The script on a small official-style checkpoint, as train.py saves
    it under numpy 1 (a numpy scalar included): read with the safe loader.
    A file with any other pickled object needs ``--unsafe-load``."""
    src, dst = tmp_path / 'best.pth', tmp_path / 'ours.pth'
    checkpoint = dict(
        state_dict={
            'module.cw.weight': torch.ones(1, 2, 1, 1),
            'module.dsn1.bias': torch.zeros(1),
            'module.final_seg.6.weight': torch.zeros(3, 4, 1, 1)
        },
        epoch=3,
        mean_iu=np.float64(0.8))
    save_with_numpy1_names(checkpoint, src)
    out = run_tool([CONVERTER, str(src), str(dst)], cwd=str(tmp_path)).stdout
    assert 'left out (unused by the official forward): dsn1.bias' in out
    saved = torch.load(dst, map_location='cpu')
    assert sorted(saved['state_dict']) == [
        'decode_head.conv_seg.weight', 'decode_head.edge_fusion.weight'
    ]

    checkpoint['best'] = Fraction(4, 5)
    torch.save(checkpoint, src)
    refused = run_tool([CONVERTER, str(src), str(dst)],
                       cwd=str(tmp_path),
                       check=False)
    assert refused.returncode != 0
    assert 'best.pth: torch.load(weights_only=True) refused it' in (
        refused.stdout)
    assert 'run again with --unsafe-load' in refused.stdout
    dst.unlink()
    run_tool(
        [CONVERTER, str(src), str(dst), '--unsafe-load'], cwd=str(tmp_path))
    assert torch.equal(
        torch.load(dst, map_location='cpu')['state_dict']
        ['decode_head.edge_fusion.weight'], torch.ones(1, 2, 1, 1))
