"""Reading checkpoint files and checking their fit (checkpoint_fit)."""
import logging

import pytest
import torch
import torch.nn as nn
from mmseg.models import SegTTAModel

from mmext_pixel.utils.checkpoint_fit import (CheckpointError, CheckpointFit,
                                              check_checkpoint_file,
                                              checkpoint_fit, load_fitting,
                                              read_checkpoint)


class TinyNet(nn.Sequential):

    def test_step(self, data):  # what a TTA wrapper asks of its module
        return self(data)


def tiny_net(out_channels=3):
    return TinyNet(
        nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, out_channels, 1))


def test_empty_file_is_named(tmp_path):
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    for check in (check_checkpoint_file, read_checkpoint):
        with pytest.raises(CheckpointError) as e:
            check(str(path))
        assert str(e.value) == f'checkpoint {path}: empty file (0 bytes)'


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match='nope.pth: no such file'):
        read_checkpoint(str(tmp_path / 'nope.pth'))


@pytest.mark.parametrize('zip_format', [True, False])
@pytest.mark.parametrize('keep', [0.5, 0.02])
def test_truncated_file_is_named(tmp_path, zip_format, keep):
    """A real checkpoint, in torch's zip or legacy format, cut short."""
    path = tmp_path / 'cut.pth'
    torch.save({
        'state_dict': tiny_net().state_dict(),
        'meta': {}
    },
               path,
               _use_new_zipfile_serialization=zip_format)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(str(path))
    assert str(e.value).startswith(
        f'checkpoint {path}: truncated or not a torch checkpoint')


def test_other_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text('model weights are elsewhere\n')
    with pytest.raises(CheckpointError, match='neither a zip archive nor'):
        read_checkpoint(str(path))


def test_intact_checkpoint_reads(tmp_path):
    path = tmp_path / 'ok.pth'
    weights = tiny_net().state_dict()
    torch.save({'state_dict': weights}, path)
    loaded = read_checkpoint(str(path))['state_dict']
    assert loaded.keys() == weights.keys()
    assert all(torch.equal(loaded[k], weights[k]) for k in weights)


def test_fit_of_a_matching_checkpoint_with_module_prefix():
    net = tiny_net()
    weights = {f'module.{k}': v for k, v in net.state_dict().items()}
    # BN's step counter is not needed (mmengine's loader ignores it too)
    del weights['module.1.num_batches_tracked']
    fit = checkpoint_fit(net, {'state_dict': weights})
    assert fit.fits and fit.describe() == ''
    assert fit.num_model_keys == len(net.state_dict())


def test_fit_lists_mismatched_missing_and_unexpected_keys():
    weights = tiny_net(out_channels=5).state_dict()
    del weights['0.bias']
    weights['head.weight'] = torch.zeros(1)
    # a test-time-augmentation wrapper is looked through, as mmengine's
    # loader does
    model = SegTTAModel(module=tiny_net())
    fit = checkpoint_fit(model, weights)  # a bare state dict
    assert not fit.fits
    assert fit.mismatched == [('2.weight', (5, 4, 1, 1), (3, 4, 1, 1)),
                              ('2.bias', (5, ), (3, ))]
    assert fit.missing == ['0.bias'] and fit.unexpected == ['head.weight']
    assert fit.describe().splitlines() == [
        '2 with another shape: 2.weight (checkpoint (5, 4, 1, 1), model '
        '(3, 4, 1, 1)), 2.bias (checkpoint (5,), model (3,))',
        '1 missing from the checkpoint: 0.bias',
        '1 unexpected (not in the model): head.weight',
    ]


def test_describe_lists_the_first_keys_only():
    fit = CheckpointFit(missing=[f'k{i}' for i in range(8)])
    assert fit.describe(max_keys=3) == (
        '8 missing from the checkpoint: k0, k1, k2, ... (5 more)')


def test_load_fitting_refuses_a_misfit_or_loads_what_fits(caplog):
    net, other = tiny_net(), tiny_net(out_channels=5)
    first = net[0].weight.detach().clone()
    checkpoint = {'state_dict': other.state_dict()}
    with pytest.raises(CheckpointError) as e:
        load_fitting(net, checkpoint, 'other.pth', 'the tiny net')
    assert str(e.value).startswith(
        'checkpoint other.pth does not fit the tiny net:\n2 with another '
        'shape: 2.weight')
    assert torch.equal(net[0].weight, first)  # nothing loaded
    logger = logging.getLogger('load_fitting_test')
    with caplog.at_level(logging.WARNING, logger='load_fitting_test'):
        fit = load_fitting(
            net, checkpoint, 'other.pth', allow_partial=True, logger=logger)
    assert not fit.fits
    assert [r.getMessage().splitlines()[0] for r in caplog.records] == [
        'checkpoint other.pth was loaded partly (the model has 9 '
        'state-dict entries); not loaded:'
    ]
    assert torch.equal(net[0].weight, other[0].weight)  # what fits
