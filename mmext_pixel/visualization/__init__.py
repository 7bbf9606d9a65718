from .seg_edge_visualizer import SegEdgeLocalVisualizer

__all__ = ['SegEdgeLocalVisualizer']
