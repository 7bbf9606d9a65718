from .strip_pooling_block import StripPoolingBlock

__all__ = ['StripPoolingBlock']
