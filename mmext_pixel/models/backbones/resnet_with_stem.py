from mmseg.models.backbones import ResNetV1c
from mmseg.registry import MODELS


@MODELS.register_module()
class ResNetV1cWithStem(ResNetV1c):
    """ResNetV1c that also returns the output of its stem.

    Gated-SCNN's ResNet variants (Takikawa et al., ICCV 2019; as
    leftthomas/GatedSCNN) start the shape stream from the stem (stride 2,
    before the max pool): outputs are the stem's, then ``out_indices``'.

    Args:
        **kwargs: :class:`mmseg.models.backbones.ResNetV1c` arguments, e.g.
            ``strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)`` for output
            stride 8.
    """

    def forward(self, x):
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        outs = [x]
        x = self.maxpool(x)
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
