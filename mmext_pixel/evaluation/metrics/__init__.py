from .boundary_fscore import BoundaryFScore

__all__ = ['BoundaryFScore']
