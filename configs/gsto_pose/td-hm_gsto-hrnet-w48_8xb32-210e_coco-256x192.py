# GSTO-HRNet-W48 at 256x192: what mmpose's HRNet-W48 recipe changes in W32's.
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
