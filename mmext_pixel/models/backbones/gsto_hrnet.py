from collections import OrderedDict
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import Sequential
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmseg.models.backbones.hrnet import HRModule, HRNet
from mmseg.models.utils import Upsample
from mmseg.registry import MODELS
from torch.utils.hooks import RemovableHandle

from ..utils import StagePredictor, resize_to


def _fuse_upsampling_free(fuse_layers: nn.ModuleList) -> nn.ModuleList:
    """Drop mmseg's Upsample from each low-to-high fuse branch: GSTO (as the
    official HRNet) resizes once, bilinear; mmseg upsamples by 2^k first,
    which differs when sizes are odd."""
    for fuse_layer in fuse_layers:
        for j, branch in enumerate(fuse_layer):
            if isinstance(branch, nn.Sequential) and isinstance(
                    branch[-1], (Upsample, nn.Upsample)):
                fuse_layer[j] = nn.Sequential(*list(branch)[:-1])
    return fuse_layers


def stacked_norm(x: torch.Tensor, norms: List[nn.Module],
                 training: bool) -> torch.Tensor:
    """One-channel norms (one config) applied to ``x``'s channels, one each;
    BatchNorms (unsynced while training) run as one with stacked parameters,
    the same arithmetic, their running buffers updated in place."""
    bn = norms[0]
    if not (isinstance(bn, _BatchNorm) and bn.affine
            and bn.track_running_stats) or training and (isinstance(
                bn, nn.SyncBatchNorm) or bn.momentum is None):
        return torch.cat([n(c) for n, c in zip(norms, x.split(1, 1))], 1)
    mean, var = (
        torch.cat([getattr(n, k) for n in norms])
        for k in ('running_mean', 'running_var'))
    out = F.batch_norm(x, mean, var, torch.cat([n.weight for n in norms]),
                       torch.cat([n.bias for n in norms]), training,
                       bn.momentum, bn.eps)
    if training:
        with torch.no_grad():
            for n, m, v in zip(norms, mean, var):
                n.running_mean.copy_(m)
                n.running_var.copy_(v)
                n.num_batches_tracked.add_(1)
    return out


class GSTOHRModule(HRModule):
    """HRNet module gating every fusion input (GSTO's unsupervised gates).

    Input ``j`` of output ``i`` (``j == i`` included) is multiplied by
    ``sigmoid(ReLU(BN(conv1x1(x_j))))`` at ``x_j``'s resolution before it is
    resized and summed. The ReLU (gate in ``[0.5, 1)``) is the official
    arithmetic, kept so that official checkpoints give the same outputs.

    Args: as :class:`mmseg.models.backbones.hrnet.HRModule`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._gate_hooks: Dict[int, Callable] = OrderedDict()
        if self.fuse_layers is not None:
            _fuse_upsampling_free(self.fuse_layers)
            self.gate_layers = nn.ModuleList([
                nn.ModuleList([
                    ConvModule(
                        channels,
                        1,
                        1,
                        bias=False,
                        conv_cfg=self.conv_cfg,
                        norm_cfg=self.norm_cfg)
                    for channels in self.in_channels
                ]) for _ in range(len(self.fuse_layers))
            ])

    def fusion_gates(self, x: List[torch.Tensor]) -> List[List[torch.Tensor]]:
        """``gates[i][j]``: the gate map of input ``j`` for output ``i``."""
        layers = [g for gates in self.gate_layers for g in gates]
        if not all(type(g.conv) is nn.Conv2d and g.with_norm for g in layers):
            return [[gate(feat).sigmoid() for gate, feat in zip(gates, x)]
                    for gates in self.gate_layers]
        per_input = []
        for j, feat in enumerate(x):
            # the gates that read the same input as one matrix product over
            # the channels (a conv with 1 to 4 outputs is several times
            # slower) and one norm: equal up to float rounding
            layers = [gates[j] for gates in self.gate_layers]
            weight = torch.cat([g.conv.weight.flatten(1) for g in layers])
            y = torch.matmul(weight,
                             feat.flatten(2)).unflatten(2, feat.shape[2:])
            y = stacked_norm(y, [g.norm for g in layers], self.training)
            per_input.append(F.relu(y).sigmoid())
        return [[gates[:, i:i + 1] for gates in per_input]
                for i in range(len(self.gate_layers))]

    def register_gate_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, gates)`` with :meth:`fusion_gates`' output at
        every forward (hooks on the stacked gate layers would miss them).

        Args:
            hook (Callable): Called with this module and ``gates[i][j]``.

        Returns:
            RemovableHandle: ``handle.remove()`` removes the hook.
        """
        handle = RemovableHandle(self._gate_hooks)
        self._gate_hooks[handle.id] = hook
        return handle

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        if self.num_branches == 1:
            return [self.branches[0](x[0])]
        x = [branch(feat) for branch, feat in zip(self.branches, x)]
        all_gates = self.fusion_gates(x)
        for hook in self._gate_hooks.values():
            hook(self, all_gates)
        outs = []
        for i, (fuse_layer,
                gates) in enumerate(zip(self.fuse_layers, all_gates)):
            y = None
            for j, (feat, gate) in enumerate(zip(x, gates)):
                if j == i:
                    term = feat * gate
                elif j > i:
                    # a per-pixel gate commutes with the 1x1 conv: applied
                    # to its output, which has fewer channels
                    conv, norm = fuse_layer[j]
                    term = resize_to(norm(conv(feat) * gate), x[i].shape[2:])
                else:
                    term = fuse_layer[j](feat * gate)
                # in place: the terms only feed this sum
                y = term if y is None else y.add_(term)
            outs.append(F.relu_(y))
        return outs


@MODELS.register_module()
class GSTOHRNet(HRNet):
    """HRNet with Gated Scale-Transfer Operations (GSTO-HRNet).

    Zhang et al., "GSTO: Gated Scale-Transfer Operation for Multi-Scale
    Feature Learning in Pixel Labeling", arXiv 2005.13363.

    On mmseg's HRNet: every fusion gates each input with a spatial map of it
    (:class:`GSTOHRModule`); after stages 2 and 3 a :class:`StagePredictor`
    predicts class scores, which a chain of 3x3 conv-norm-ReLUs
    (``num_classes -> 1``, then stride 2 down to the source branch) turns
    into a sigmoid gate on the feature feeding the next new branch (the
    supervised gates). The first transition's chain has no scores to drive
    it: the official model has it (its checkpoints hold it) but never uses
    it; ours is frozen so that DDP needs no ``find_unused_parameters``.

    Returns the four branch features, then the stage-3 and stage-2 scores
    (1/4 resolution): decode head ``in_index=(0, 1, 2, 3)``, auxiliary heads
    ``in_index=4`` and ``5``.

    Args:
        num_classes (int): Classes of the intermediate predictions (for pose:
            keypoint heatmaps).
        **kwargs: As :class:`mmseg.models.backbones.HRNet`
            (``multiscale_output`` must stay True).
    """

    def __init__(self, num_classes: int, **kwargs) -> None:
        if not kwargs.get('multiscale_output', True):
            raise ValueError('GSTOHRNet needs multiscale_output=True: its '
                             'predictors use all four branches')
        self.num_classes = num_classes
        super().__init__(**kwargs)
        stage_channels = [[
            c * self.blocks_dict[cfg['block']].expansion
            for c in cfg['num_channels']
        ] for cfg in (self.stage2_cfg, self.stage3_cfg)]
        self.stage2_predictor = StagePredictor(
            sum(stage_channels[0]), num_classes, self.conv_cfg, self.norm_cfg)
        self.stage3_predictor = StagePredictor(
            sum(stage_channels[1]), num_classes, self.conv_cfg, self.norm_cfg)
        self.transition_gates = nn.ModuleList([
            self._make_transition_gate(cfg['num_branches'] - 1)
            for cfg in (self.stage2_cfg, self.stage3_cfg, self.stage4_cfg)
        ])
        # unused but in the official checkpoints; frozen for DDP
        self.transition_gates[0].requires_grad_(False)

    @contextmanager
    def record_gates(self) -> Iterator[Dict[str, torch.Tensor]]:
        """Record the gate maps of every forward run inside the context.

        Yields a dict that each forward fills (detached, after the sigmoid,
        at the resolution the gate is applied at), by name:

        - ``stage{s}_module{m}_to{i}_from{j}``: the unsupervised gate on
          branch ``j`` where module ``m`` of stage ``s`` fuses it into output
          branch ``i`` (``i == j``: the identity path);
        - ``transition{t}_branch{b}``: the supervised gate, computed from the
          stage-``t`` class scores, on the feature that creates branch ``b``
          (transition 1 has none in use).

        Example:
            >>> with backbone.record_gates() as gates:
            ...     backbone(img)
            >>> gates['stage2_module0_to0_from1'].shape  # (N, 1, H, W)
        """
        gates: Dict[str, torch.Tensor] = {}
        handles = []

        def fusion_hook(prefix):

            def hook(module, module_gates):
                for i, row in enumerate(module_gates):
                    for j, gate in enumerate(row):
                        gates[f'{prefix}_to{i}_from{j}'] = gate.detach()

            return hook

        def transition_hook(name):

            def hook(module, inputs, output):
                gates[name] = output.detach().sigmoid()

            return hook

        for stage in (2, 3, 4):
            for m, module in enumerate(getattr(self, f'stage{stage}')):
                handles.append(
                    module.register_gate_hook(
                        fusion_hook(f'stage{stage}_module{m}')))
        # transition_gates[k] gates the branch that transition k + 1 creates
        # (its index: the chain's length) from the stage-(k + 1) scores
        for k, chain in enumerate(self.transition_gates):
            handles.append(
                chain.register_forward_hook(
                    transition_hook(f'transition{k + 1}_branch{len(chain)}')))
        try:
            yield gates
        finally:
            for handle in handles:
                handle.remove()

    def _make_transition_gate(self, downsamplings: int) -> nn.Sequential:
        """Scores at 1/4 -> one-channel gate at 1/4 * 2^-(downsamplings-1)."""
        layers = []
        for k in range(downsamplings):
            layers.append(
                ConvModule(
                    self.num_classes if k == 0 else 1,
                    1,
                    3,
                    stride=1 if k == 0 else 2,
                    padding=1,
                    bias=False,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg))
        return nn.Sequential(*layers)

    def _make_stage(self, layer_config, in_channels, multiscale_output=True):
        # mmseg's HRNet._make_stage with gated modules
        num_modules = layer_config['num_modules']
        modules = [
            GSTOHRModule(
                layer_config['num_branches'],
                self.blocks_dict[layer_config['block']],
                layer_config['num_blocks'],
                in_channels,
                layer_config['num_channels'],
                multiscale_output or i < num_modules - 1,
                with_cp=self.with_cp,
                norm_cfg=self.norm_cfg,
                conv_cfg=self.conv_cfg) for i in range(num_modules)
        ]
        return Sequential(*modules), in_channels

    @staticmethod
    def _transition(transition, gate, feats, scores):
        out = []
        for i, layer in enumerate(transition):
            if layer is None:
                out.append(feats[i])
            elif i < len(feats):
                out.append(layer(feats[i]))
            else:
                out.append(layer(feats[-1] * gate(scores).sigmoid()))
        return out

    def forward(self, x):
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        x = self.layer1(x)
        feats = [t(x) if t is not None else x for t in self.transition1]
        feats = self.stage2(feats)
        stage2_scores = self.stage2_predictor(feats)
        feats = self.stage3(
            self._transition(self.transition2, self.transition_gates[1], feats,
                             stage2_scores))
        stage3_scores = self.stage3_predictor(feats)
        feats = self.stage4(
            self._transition(self.transition3, self.transition_gates[2], feats,
                             stage3_scores))
        return tuple(feats) + (stage3_scores, stage2_scores)
