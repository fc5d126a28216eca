import numpy as np


def fill(a):
    return np.where(a < 0, 0, a)
