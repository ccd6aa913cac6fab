"""The workbench's widgets: queue list, feature detail, histogram, label form, similar sidebar."""
