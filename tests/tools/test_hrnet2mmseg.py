"""tools/model_converters/hrnet2mmseg.py's command line, run in-process
(the conversion against the official arithmetic:
tests/converters/test_hrnet.py)."""
import sys

import torch

from conftest import load_tool
from helpers.official_checkpoints import (build_hrnet_model,
                                          official_hrnet_state_dict)


def test_cli_writes_a_checkpoint_that_loads(tmp_path, monkeypatch, capsys):
    converter = load_tool('model_converters', 'hrnet2mmseg.py')
    model = build_hrnet_model()
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save(
        official_hrnet_state_dict(model,
                                  torch.Generator().manual_seed(2)), src)
    monkeypatch.setattr(sys, 'argv', ['hrnet2mmseg.py', str(src), str(dst)])
    converter.main()
    assert 'loss.criterion.weight' in capsys.readouterr().out
    state = torch.load(dst, weights_only=True)['state_dict']
    model.load_state_dict(state, strict=True)
