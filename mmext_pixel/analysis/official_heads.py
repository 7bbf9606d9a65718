"""The official arithmetic of a decode head (GALD, DGCN, SPNet) on a random
official state dict converted into ours (``--official``)."""
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


def _on_device(sd: Dict[str, Tensor], device: str) -> Dict[str, Tensor]:
    """``sd`` moved to ``device`` in place as new leaves (the references read
    ``sd``; an optimizer steps these tensors)."""
    for k, v in sd.items():
        sd[k] = v.detach().to(device)
    return sd


def _parameters(sd: Dict[str, Tensor]) -> List[Tensor]:
    """``sd``'s parameters (not BN buffers), requiring gradients."""
    return [
        v.requires_grad_() for k, v in sd.items()
        if not k.endswith(_NOT_PARAMETERS)
    ]


def _spnet(cfg: Config, module: nn.Module, num_classes: int, prefix: str,
           seed: int) -> spnet_reference.OfficialSPNet:
    depth = cfg.model.backbone.depth
    sd = spnet_reference.random_official_state_dict(
        depth, num_classes=num_classes, seed=seed)
    _load_converted(module, spnet.convert(sd).state_dict, prefix)
    return spnet_reference.OfficialSPNet(sd, depth=depth)


def official_spnet(cfg: Config,
                   model: nn.Module,
                   seed: int = 0,
                   device: str = 'cpu') -> spnet_reference.OfficialSPNet:
    """The official SPNet, its random state dict converted into ``model``
    (``trunk``, ``head``: ``model.backbone``'s, ``decode_head``'s outputs).

    Args:
        cfg (Config): The config of ``model``, our segmentor.
        model (nn.Module): Our segmentor (left where it is).
        seed (int): Seed of the state dict. Defaults to 0.
        device (str): Device of the official state dict. Defaults to 'cpu'.
    """
    official = _spnet(cfg, model, cfg.model.decode_head.num_classes, '', seed)
    _on_device(official.sd, device)
    return official


def official_head(
    cfg: Config,
    head: nn.Module,
    device: str = 'cpu'
) -> Tuple[Callable[[Tensor], Tensor], List[Tensor], Dict[str, Tensor]]:
    """The official arithmetic of ``head`` on a random state dict in it.

    Args:
        cfg (Config): The config of ``head``.
        head (nn.Module): Our GALD, DGCN or SP head (left where it is).
        device (str): Device of the official state dict. Defaults to 'cpu'.

    Returns:
        tuple: ``forward(x) -> logits`` on the layer4 feature, the official
        parameters (requiring gradients) and their state dict.
    """
    kind = type(head).__name__
    if kind not in OFFICIAL_HEADS:
        raise ValueError(f'--official: {kind} has no official-arithmetic '
                         f'reference; heads with one: {OFFICIAL_HEADS}')
    if kind == 'SPHead':
        official = _spnet(cfg, head, head.num_classes, 'decode_head.', 0)
        official.sd = {
            k: v
            for k, v in official.sd.items() if k.startswith('head.')
        }
        _on_device(official.sd, device)
        return official.head, _parameters(official.sd), official.sd
    method = GALD if kind == 'GALDHead' else DGCN
    sd = gald_dgcn_reference.official_head_state(
        method.kind,
        in_channels=head.in_channels,
        channels=head.channels,
        num_classes=head.num_classes)
    converted = convert_keys(
        sd, method.rules, method.name, reshape=method.reshape).state_dict
    _load_converted(head, converted, 'decode_head.')
    forward = getattr(gald_dgcn_reference, f'official_{method.kind}_head')
    return (lambda x: forward(sd, x)), _parameters(_on_device(sd, device)), sd
