from .per_image_ohem_loss import PerImageOhemCrossEntropyLoss

__all__ = ['PerImageOhemCrossEntropyLoss']
