_base_ = 'mmseg::_base_/default_runtime.py'
# Lets the stock mmseg/mmpose tools (and mmengine's Runner) find our
# components when they read one of our configs.
custom_imports = dict(imports=['mmext_pixel'], allow_failed_imports=False)
# Stop a run whose heads and datasets disagree on the class count (before the
# first step) and a run whose loss becomes NaN or infinite (at that step,
# saving nothing after it); `check_finite_loss = False` turns the latter off.
custom_hooks = [
    dict(type='ClassCountCheckHook'),
    dict(type='NonFiniteLossHook')
]
