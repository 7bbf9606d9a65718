# GSTO-HRNet-W48, top-down heatmaps on COCO at 256x192: the W32 config with
# what mmpose's td-hm_hrnet-w48_8xb32-210e_coco-256x192 recipe changes in its
# W32 one (widths, ImageNet HRNet-W48 init, 32 images per GPU).
_base_ = './td-hm_gsto-hrnet-w32_8xb64-210e_coco-256x192.py'
model = dict(
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384))),
        init_cfg=dict(checkpoint='https://download.openmmlab.com/mmpose/'
                      'pretrain_models/hrnet_w48-8ef0771d.pth')),
    head=dict(in_channels=(48, 96, 192, 384)))
train_dataloader = dict(batch_size=32)
