def register_config_package() -> None:
    """Let configs inherit from ``'mmext_pixel::<path>'``.

    mmengine resolves ``'pkg::path'`` only for the OpenMMLab packages it lists
    in ``MODULE2PACKAGE``, looking under ``<pkg>/.mim/configs``. Adding our
    name there makes ``_base_ = 'mmext_pixel::gsto/...'`` work in any process
    that imported ``mmext_pixel`` before parsing the config (our tools do; so
    does ``import mmext_pixel`` in a user's own script).
    """
    from mmengine.config import utils
    utils.MODULE2PACKAGE.setdefault('mmext_pixel', 'mmext_pixel')
