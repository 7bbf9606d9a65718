# GSTO-HRNet-W48 on Cityscapes train + val (for the test server): HRNet's
# second phase, from the train run's last checkpoint (--cfg-options
# load_from=PATH for another); README.md, "Training recipe".
_base_ = './gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024.py'
max_iters = 104907
load_from = ('work_dirs/gsto_hrnet-w48_8xb2-90k_cityscapes-512x1024/'
             'iter_89661.pth')
optim_wrapper = dict(optimizer=dict(lr=0.001))
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=10500)
default_hooks = dict(checkpoint=dict(interval=10500))
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
# trained on val too: tools/test.py writes the test server's PNGs
test_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            img_path='leftImg8bit/test', seg_map_path='gtFine/test')))
