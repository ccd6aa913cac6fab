"""Feature data: the input readers and the derived, memory-mapped index over them."""

from labeler_tui.core.data.model_data import FeatureActivations, ModelData, ProgressCallback

__all__ = ["FeatureActivations", "ModelData", "ProgressCallback"]
