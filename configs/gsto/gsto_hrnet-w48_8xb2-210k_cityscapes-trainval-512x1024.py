# GSTO-HRNet-W48 on Cityscapes train + val (for the test server), the
# official trainval recipe: 2 x 484 epochs of 3475 images at 16 per iteration.
_base_ = './gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py'
max_iters = 210000
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=21000)
default_hooks = dict(checkpoint=dict(interval=21000))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type='CityscapesDataset',
                data_root={{_base_.data_root}},
                data_prefix=dict(
                    img_path=f'leftImg8bit/{split}',
                    seg_map_path=f'gtFine/{split}'),
                pipeline={{_base_.train_pipeline}})
            for split in ('train', 'val')
        ]))
# trained on val too: tools/test.py writes the test server's label-ID PNGs
# (the real gtFine/test maps are all ignore)
test_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            img_path='leftImg8bit/test', seg_map_path='gtFine/test')))
