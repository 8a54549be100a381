"""The graph view (``graphView``): the model spec as nodes and edges, edited by clicking."""
