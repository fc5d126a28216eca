import numpy as np

from . import units


def grid_depth(dem, stage):
    return np.maximum(stage - dem, 0) * units.FEET_PER_METRE
