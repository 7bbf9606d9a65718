"""The rule engine and the checkpoint helpers the converters share."""
from fractions import Fraction

import numpy as np
import pytest
import torch

from helpers.numpy1_pickle import save_with_numpy1_names
from mmext_pixel.converters.base import (ConversionError, MissingKeysError,
                                         UnknownKeysError, add_bn_counters,
                                         check_missing, convert_keys,
                                         fold_conv_bias,
                                         load_official_state_dict,
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


def test_first_matching_rule_renames_and_leave_out_comes_first():
    state = {
        'a.0.weight': torch.ones(1),
        'a.1.weight': torch.full((1, ), 2.0),
        'loss.weight': torch.ones(3),
    }
    rules = [
        (r'a\.0\.(.+)', r'first.\1'),
        (r'a\.(\d)\.(.+)', lambda m: f'rest.{int(m[1]) * 10}.{m[2]}'),
    ]
    conversion = convert_keys(state, rules, 'Toy',
                              [(r'loss\..+', 'criterion')])
    assert list(conversion.state_dict) == ['first.weight', 'rest.10.weight']
    assert conversion.state_dict['rest.10.weight'] is state['a.1.weight']
    assert conversion.left_out == {'loss.weight': 'criterion'}
    assert conversion.left_out_by_reason() == {'criterion': ['loss.weight']}


def test_rules_match_whole_keys_and_every_unknown_key_is_named():
    state = {'a.weight': 1, 'xa.weight': 2, 'a.weight.extra': 3, 'b': 4}
    with pytest.raises(UnknownKeysError) as error:
        convert_keys(state, [(r'a\.weight', 'ours.weight')], 'Toy')
    assert error.value.keys == ['xa.weight', 'a.weight.extra', 'b']
    assert str(error.value) == ('unknown keys, not Toy weights (no rule '
                                'for): xa.weight, a.weight.extra, b')
    assert isinstance(error.value, KeyError)


def test_two_keys_renamed_alike_are_an_error():
    with pytest.raises(ConversionError, match='a.w and b.w would both'):
        convert_keys({'a.w': 1, 'b.w': 2}, [(r'[ab]\.w', 'w')], 'Toy')


def test_every_bn_gets_a_counter_and_existing_ones_are_kept():
    counter = torch.tensor(7)
    state = {
        'x.bn.running_var': torch.ones(2),
        'y.bn.running_var': torch.ones(2),
        'y.bn.num_batches_tracked': counter,
    }
    counted = add_bn_counters(state)
    assert list(counted) == [
        'x.bn.running_var', 'x.bn.num_batches_tracked', 'y.bn.running_var',
        'y.bn.num_batches_tracked'
    ]
    assert counted['x.bn.num_batches_tracked'].dtype == torch.long
    assert counted['x.bn.num_batches_tracked'].item() == 0
    assert counted['y.bn.num_batches_tracked'] is counter
    # also through convert_keys, for every converter
    converted = convert_keys(state, [(r'(.+)', r'm.\1')], 'Toy').state_dict
    assert converted['m.x.bn.num_batches_tracked'].item() == 0
    assert converted['m.y.bn.num_batches_tracked'] is counter


def test_folded_conv_bias_gives_the_same_bn_output():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 5, generator=gen)
    state = {
        'c.weight': torch.randn(4, 3, 3, 3, generator=gen),
        'c.bias': torch.randn(4, generator=gen),
        'n.running_mean': torch.randn(4, generator=gen),
        'n.running_var': torch.rand(4, generator=gen) + 0.5,
    }

    def forward(sd):
        y = torch.nn.functional.conv2d(x, sd['c.weight'], sd.get('c.bias'))
        return torch.nn.functional.batch_norm(y, sd['n.running_mean'],
                                              sd['n.running_var'])

    folded = fold_conv_bias(state, 'c', 'n')
    assert 'c.bias' not in folded
    torch.testing.assert_close(forward(folded), forward(state))
    assert not torch.allclose(
        forward(dict(folded, **{'c.bias': state['c.bias']})), forward(state))
    assert fold_conv_bias(folded, 'c', 'n') == folded  # nothing to fold
    with pytest.raises(MissingKeysError, match='m.running_mean'):
        fold_conv_bias(state, 'c', 'm')


def test_missing_keys_are_named():
    check_missing({'a': 1}, ['a'], 'Toy')
    with pytest.raises(MissingKeysError, match='Toy: missing keys: b, c'):
        check_missing({'a': 1}, ['a', 'b', 'c'], 'Toy')
