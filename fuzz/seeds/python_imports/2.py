# -*- coding: utf-8 -*-
"""Flood extent model (Hydro/Flood), published from ArcGIS Pro 3.1."""
import os
import arcpy
import numpy as np
import rasterio
from rasterstats import zonal_stats

import flood_helpers
from floodlib import grid_depth

try:
    import xarray  # faster NetCDF output when available
except ImportError:
    xarray = None


def main():
    dem = arcpy.GetParameterAsText(0)
    with rasterio.open(dem) as src:
        depth = flood_helpers.fill(src.read(1))
    stats = zonal_stats(arcpy.GetParameterAsText(1), depth)
    arcpy.SetParameterAsText(2, os.path.join(arcpy.env.scratchFolder, "flood.tif"))
    return np.nanmax(depth), stats


if __name__ == "__main__":
    main()
