"""The dataset contract: what every stage of the pipeline agrees on.

Dataset specs (the model and its YAML files), getting the published files (fetch), the
names several stages share (``names``), the data and model family tables (``families``) and
the base of the errors the command line reports as one line (``errors``). It is the bottom
layer: it imports no other package of this project and no TensorFlow, so loading a spec,
reading a report or printing ``tfxp --help`` stays fast.
"""
