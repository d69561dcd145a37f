"""The network and what describes a trained one: the bottom of the project, below the model store.

    architecture.py  the architecture spec (and its limits), the NumPy network that serves it, the tutorial's
                     normalization and the softmax
    card.py          the model card, `model.json`, written and read by one class
    calibration.py   honest confidence: the temperature, the calibration error, reliability bins, the "unsure" rule
    evaluation.py    per-digit accuracy, shared by training and serving

No TensorFlow and no files here: training builds the Keras model from the same spec (`digits.training`), and the
store (`model_store`) reads and writes versions.
"""
