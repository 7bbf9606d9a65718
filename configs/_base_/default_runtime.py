_base_ = 'mmseg::_base_/default_runtime.py'
# the stock mmseg/mmpose tools find our components
custom_imports = dict(imports=['mmext_pixel'], allow_failed_imports=False)
# stop a run whose class counts disagree or whose loss is not finite
# (`check_finite_loss = False` turns the latter off)
custom_hooks = [
    dict(type='ClassCountCheckHook'),
    dict(type='NonFiniteLossHook')
]
