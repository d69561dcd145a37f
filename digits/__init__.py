"""The digit core: everything about reading digits that needs neither Discord nor TensorFlow.

    network.py      the architecture spec (and its limits) and the NumPy network that serves it
    options.py      the training options: train.py's flags and !retrain's words, declared once
    card.py         the model card, `model.json`, written and read by one class
    records.py      the train.py ⇄ bot JSON-lines records, and train.py's reporter
    mnist.py        MNIST: fetch, verify (SHA-256), cache, load
    images.py       a posted picture → a 28×28 MNIST-convention image, or a number's ink cut into pieces
                    (and the tutorial's normalization)
    inference.py    the inference service: the served version, predictions (which runs of pieces are a
                    number's digits), accuracy reports, hot swap
    render.py       text bar charts and PNG pictures of what the model saw
    predict_cli.py  `python -m bot predict IMAGE...`
    retraining.py   a retrain while serving: train.py as a subprocess, the promotion decision, the hot swap
    settings.py     where the store and MNIST live; the one rule for `.env`
    files.py        atomic writes and SHA-256 of files
    evaluation.py   per-digit accuracy, shared by training and serving
    calibration.py  honest confidence: the temperature, the calibration error, reliability bins, the "unsure" rule
    augment.py      the robust recipe's on-the-fly augmentation of training digits (vectorised NumPy)
    community.py    community corrections in SQLite: votes, the trust rule, deletion, the trainer's read-only view
    typed.py        typed digits rendered from installed fonts (and which fonts are held out for measuring)
    training.py     the Keras side (the Keras model from the spec, the fast fit loop): the ONLY module
                    importing TensorFlow, imported by train.py alone
"""
