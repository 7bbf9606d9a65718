"""tools/model_converters/spnet2mmseg.py's command line (the conversion
against the official arithmetic: tests/converters/test_spnet.py)."""
import os.path as osp

import pytest
import torch

from conftest import REPO_ROOT, load_tool, run_tool
from helpers.official_checkpoints import imagenet_trunk
from mmext_pixel.converters import spnet
from mmext_pixel.testing.spnet_reference import random_official_state_dict

CONVERTER = osp.join(REPO_ROOT, 'tools', 'model_converters', 'spnet2mmseg.py')


@pytest.mark.slow
def test_command_line(tmp_path):
    """SRC -> DST through the script, from a file the official train.py
    would write (epoch, state_dict, optimizer) for a small trunk."""
    official = random_official_state_dict(50, num_classes=3, seed=2)
    src, dst = tmp_path / 'official.pth', tmp_path / 'ours.pth'
    trunk = {
        k: v.half() if v.is_floating_point() else v
        for k, v in imagenet_trunk(official, 'semseg').items()
    }
    torch.save(dict(epoch=3, state_dict=trunk, optimizer={}), src)
    out = run_tool([CONVERTER, str(src), str(dst)], cwd=str(tmp_path)).stdout
    assert 'left out (ImageNet classifier): fc.weight, fc.bias' in out
    checkpoint = torch.load(dst, weights_only=True)
    assert checkpoint['meta'] == dict(converted_from=str(src))
    saved = checkpoint['state_dict']
    assert set(saved) == set(spnet.convert(trunk).state_dict)
    torch.testing.assert_close(saved['layer2.0.downsample.0.weight'],
                               trunk['layer2.0.downsample.0.weight'])
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': {'layer9.0.conv1.weight': torch.zeros(1)}}, bad)
    with pytest.raises(KeyError, match='match no ResNet depth'):
        load_tool('model_converters',
                  'spnet2mmseg.py').main([str(bad), str(dst)])
