"""The Data tab: the dataset explorer (``datasetView``)."""
