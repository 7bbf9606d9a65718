"""The checkpoint helpers that the model converters share."""
from fractions import Fraction

import numpy as np
import pytest
import torch
from helpers.numpy1_pickle import save_with_numpy1_names

from mmext_pixel.utils.checkpoint import (load_official_state_dict,
                                          save_converted, strip_prefixes)


def test_strip_prefixes_in_order_once_each():
    stripped = strip_prefixes(
        {
            'module.model.a': 1,
            'model.b': 2,
            'c.module.d': 3,
            'module.module.e': 4
        }, ('module.', 'model.'))
    assert list(stripped.items()) == [('a', 1), ('b', 2), ('c.module.d', 3),
                                      ('module.e', 4)]


def test_load_unwraps_state_dict_and_refuses_pickled_objects(tmp_path):
    weights = {'w': torch.ones(2)}
    torch.save({'state_dict': weights, 'epoch': 3}, tmp_path / 'wrapped.pth')
    assert load_official_state_dict(str(tmp_path /
                                        'wrapped.pth')).keys() == {'w'}
    torch.save({
        'w': torch.ones(2),
        'best': Fraction(1, 2)
    }, tmp_path / 'pickled.pth')
    with pytest.raises(
            RuntimeError,
            match=r'(?s)pickled\.pth: .*run again with --unsafe-load'):
        load_official_state_dict(str(tmp_path / 'pickled.pth'))
    assert load_official_state_dict(
        str(tmp_path / 'pickled.pth'), unsafe=True)['best'] == 0.5
    torch.save([torch.ones(1)], tmp_path / 'list.pth')
    with pytest.raises(TypeError, match=r'list\.pth: expected a state dict'):
        load_official_state_dict(str(tmp_path / 'list.pth'))


def test_saved_checkpoint_has_meta(tmp_path):
    save_converted({'w': torch.zeros(1)}, str(tmp_path / 'out.pth'), 'src')
    saved = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert saved['meta'] == {'converted_from': 'src'}
    assert torch.equal(saved['state_dict']['w'], torch.zeros(1))


@pytest.mark.parametrize('numpy1_names', [False, True])
def test_safe_load_reads_numpy_scalars_and_arrays(tmp_path, numpy1_names):
    """Official checkpoints pickle numpy scalars (e.g. ``mean_iu``) written
    under numpy 1, mmengine's hold arrays: both load without
    ``weights_only=False`` under either numpy's names."""
    path = tmp_path / 'official.pth'
    checkpoint = dict(
        state_dict={'w': torch.ones(2)},
        mean_iu=np.float64(0.75),
        log=np.arange(3, dtype=np.int32))
    if numpy1_names:
        save_with_numpy1_names(checkpoint, path)
    else:
        torch.save(checkpoint, path)
    assert load_official_state_dict(str(path)).keys() == {'w'}
    loaded = torch.load(path, map_location='cpu')  # weights_only=True
    assert loaded['mean_iu'] == 0.75
    assert loaded['log'].tolist() == [0, 1, 2]
