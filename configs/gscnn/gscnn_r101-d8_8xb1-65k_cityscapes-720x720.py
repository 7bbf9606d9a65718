# Gated-SCNN with a ResNet-101 (V1c, output stride 8) trunk.
_base_ = './gscnn_r50-d8_8xb1-65k_cityscapes-720x720.py'
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
