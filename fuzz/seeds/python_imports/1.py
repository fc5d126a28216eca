import arcpy
from sklearn.cluster import KMeans


def run(features, k):
    arr = arcpy.da.FeatureClassToNumPyArray(features, ["SHAPE@X", "SHAPE@Y"])
    return KMeans(n_clusters=int(k)).fit(arr.tolist())
