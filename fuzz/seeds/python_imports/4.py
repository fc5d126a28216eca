"""The Flood model's own package: its modules import each other relatively."""
from .grid import grid_depth
