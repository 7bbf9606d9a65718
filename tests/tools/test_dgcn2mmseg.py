"""tools/model_converters/dgcn2mmseg.py's command line (the conversion
itself: tests/converters/test_gald_dgcn.py)."""
import os.path as osp
from argparse import Namespace

import pytest
import torch

from conftest import REPO_ROOT, run_tool
from mmext_pixel.converters import gald_dgcn
from mmext_pixel.testing import gald_dgcn_reference as ref


@pytest.mark.slow
def test_command_line(tmp_path):
    official = ref.official_state('dgcn', 50, base=4, channels=32)
    src, dst = tmp_path / 'dualseg.pth', tmp_path / 'converted.pth'
    # as train_distribute.py saves it, here from a DataParallel wrapper
    torch.save({f'module.{k}': v for k, v in official.items()}, src)
    cmd = [
        osp.join(REPO_ROOT, 'tools', 'model_converters', 'dgcn2mmseg.py'),
        str(src),
        str(dst)
    ]
    out = run_tool(cmd, cwd=str(tmp_path)).stdout
    assert f'{len(official) - 1} tensors written' in out
    converted = torch.load(dst, weights_only=True)['state_dict']
    expected = gald_dgcn.convert(official, gald_dgcn.DGCN).state_dict
    assert converted.keys() == expected.keys()
    assert all(torch.equal(converted[k], expected[k]) for k in expected)

    # a pickled object the safe load refuses: named, and --unsafe-load reads
    torch.save(dict(state_dict=official, args=Namespace(lr=0.01)), src)
    dst.unlink()
    refused = run_tool(cmd, cwd=str(tmp_path), check=False)
    assert refused.returncode != 0 and not dst.exists()
    assert 'dualseg.pth: torch.load(weights_only=True) refused it' in (
        refused.stdout)
    assert 'run again with --unsafe-load' in refused.stdout
    run_tool(cmd + ['--unsafe-load'], cwd=str(tmp_path))
    converted = torch.load(dst, weights_only=True)['state_dict']
    assert all(torch.equal(converted[k], expected[k]) for k in expected)
