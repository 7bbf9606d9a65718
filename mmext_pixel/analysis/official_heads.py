"""The official arithmetic of a config's decode head (GALD, DGCN, SPNet), on
the same weights as our head.

``tools/analysis_tools/benchmark.py --official`` times inference with it and
``benchmark_train.py --official`` a training step: a random official-style
state dict is converted by our converter into our head, and the reference
of ``gald_dgcn_reference`` or ``spnet_reference`` computes the official
forward from the same state dict.
"""
from typing import Callable, Dict, List, Tuple

from mmengine.config import Config
from torch import Tensor, nn

from mmext_pixel.converters import spnet
from mmext_pixel.converters.base import convert_keys
from mmext_pixel.converters.gald_dgcn import DGCN, GALD
from mmext_pixel.testing import gald_dgcn_reference, spnet_reference

OFFICIAL_HEADS = ('GALDHead', 'DGCNHead', 'SPHead')
_NOT_PARAMETERS = ('running_mean', 'running_var', 'num_batches_tracked')


def _load_converted(module: nn.Module, converted: Dict[str, Tensor],
                    prefix: str) -> None:
    module.load_state_dict(
        {
            k[len(prefix):]: v
            for k, v in converted.items() if k.startswith(prefix)
        },
        strict=True)


def _to_device(sd: Dict[str, Tensor], device: str) -> None:
    """Every tensor of ``sd`` moved to ``device`` in place, as a new leaf:
    the references read ``sd``, and the parameters that an optimizer steps
    must be these tensors, not CPU ones behind a ``.to`` copy."""
    for k, v in sd.items():
        sd[k] = v.detach().to(device)


def _parameters(sd: Dict[str, Tensor]) -> List[Tensor]:
    return [
        v.requires_grad_() for k, v in sd.items()
        if not k.endswith(_NOT_PARAMETERS)
    ]


def official_spnet(cfg: Config,
                   model: nn.Module,
                   seed: int = 0,
                   device: str = 'cpu'):
    """The official SPNet arithmetic, its random state dict converted into
    ``model`` (our whole segmentor of ``cfg``).

    Args:
        cfg (Config): The config ``model`` was built from.
        model (nn.Module): Our segmentor; it stays where it is.
        seed (int): Seed of the random state dict. Defaults to 0.
        device (str): Where the official state dict is put. Defaults to
            'cpu'.

    Returns:
        spnet_reference.OfficialSPNet: its ``trunk`` and ``head`` compute
        what ``model.backbone`` and ``model.decode_head`` compute.
    """
    depth = cfg.model.backbone.depth
    sd = spnet_reference.random_official_state_dict(
        depth, num_classes=cfg.model.decode_head.num_classes, seed=seed)
    _load_converted(model, spnet.convert(sd).state_dict, '')
    official = spnet_reference.OfficialSPNet(sd, depth=depth)
    _to_device(official.sd, device)
    return official


def official_head(
    cfg: Config,
    head: nn.Module,
    device: str = 'cpu'
) -> Tuple[Callable[[Tensor], Tensor], List[Tensor], Dict[str, Tensor]]:
    """The official arithmetic of ``head`` (built from ``cfg``).

    A random official state dict of the head's widths and classes is
    converted into ``head``, so that both hold the same weights.

    Args:
        cfg (Config): The config ``head`` was built from.
        head (nn.Module): Our ``GALDHead``, ``DGCNHead`` or ``SPHead``; it
            stays where it is.
        device (str): Where the official state dict is put. Defaults to
            'cpu'.

    Returns:
        tuple: ``forward(x) -> logits`` on the layer4 feature ``x``, the
        official parameters (requiring gradients; BN buffers excluded) and
        the official state dict they are in, all on ``device``.
    """
    kind = type(head).__name__
    if kind not in OFFICIAL_HEADS:
        raise ValueError(f'--official: {kind} has no official-arithmetic '
                         f'reference; heads with one: {OFFICIAL_HEADS}')
    if kind == 'SPHead':
        depth = cfg.model.backbone.depth
        sd = spnet_reference.random_official_state_dict(
            depth, num_classes=head.num_classes)
        _load_converted(head, spnet.convert(sd).state_dict, 'decode_head.')
        official = spnet_reference.OfficialSPNet(sd, depth=depth)
        official.sd = {
            k: v
            for k, v in official.sd.items() if k.startswith('head.')
        }
        _to_device(official.sd, device)
        return official.head, _parameters(official.sd), official.sd
    key = 'gald' if kind == 'GALDHead' else 'dgcn'
    sd = gald_dgcn_reference.official_head_state(
        key,
        in_channels=head.in_channels,
        channels=head.channels,
        num_classes=head.num_classes)
    method = GALD if key == 'gald' else DGCN
    converted = convert_keys(
        sd, method.rules, method.name, reshape=method.reshape).state_dict
    _load_converted(head, converted, 'decode_head.')
    _to_device(sd, device)
    forward = gald_dgcn_reference.official_gald_head if key == 'gald' else (
        gald_dgcn_reference.official_dgcn_head)
    return (lambda x: forward(sd, x)), _parameters(sd), sd
