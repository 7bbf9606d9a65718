"""tools/model_converters/gsto2mmseg.py's command line (the conversion
against the official arithmetic: tests/converters/test_gsto.py)."""
import os.path as osp
from argparse import Namespace

import pytest
import torch
from mmseg.registry import MODELS

from conftest import REPO_ROOT, run_tool
from helpers.official_checkpoints import GSTO_CLASSES, official_gsto_state_dict
from helpers.tiny_gsto import tiny_gsto_seg_config


@pytest.mark.slow
def test_command_line_round_trip(tmp_path):
    src, dst = tmp_path / 'official.pth', tmp_path / 'ours.pth'
    # with a pickled object that only --unsafe-load reads
    torch.save(
        dict(
            state_dict={
                'model.' + k: v
                for k, v in official_gsto_state_dict().items()
            },
            config=Namespace(arch='gsto_hrnet')), src)
    proc = run_tool([
        osp.join(REPO_ROOT, 'tools', 'model_converters', 'gsto2mmseg.py'),
        str(src),
        str(dst), '--unsafe-load'
    ],
                    cwd=str(tmp_path))
    assert 'tensors written' in proc.stdout
    model = MODELS.build(tiny_gsto_seg_config(GSTO_CLASSES).model)
    checkpoint = torch.load(dst, map_location='cpu', weights_only=True)
    missing, unexpected = model.load_state_dict(checkpoint['state_dict'])
    assert not missing and not unexpected
