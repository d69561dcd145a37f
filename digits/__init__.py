"""The digit core above the model store: reading pictures, serving, training and learning from the community.

    reading/        a posted picture → 28×28 MNIST-convention digits, one stage a module (decode, ink, clutter,
                    segmentation, splitting)
    inference.py    the inference service: the served version, predictions, accuracy reports, hot swap
    pool.py         worker processes for CPU-bound work on pictures, each job under a CPU budget
    options.py      the training options: train.py's flags and !retrain's words, declared once
    records.py      the train.py ⇄ bot JSON-lines records, and train.py's reporter
    retraining.py   a retrain while serving: train.py as a subprocess, the promotion decision, the hot swap
    processes.py    child processes that end with their parent, even a killed one (PR_SET_PDEATHSIG)
    community.py    community corrections (SQLite or PostgreSQL): votes, the trust rule, deletion, the trainer's view
    mnist.py        MNIST: fetch, verify (SHA-256), cache, load
    render.py       text bar charts and PNG pictures of what the model saw
    predict_cli.py  `python -m bot predict IMAGE...`
    settings.py     where the store and MNIST live; the one rule for `.env`
    augment.py      the robust recipe's on-the-fly augmentation of training digits (vectorised NumPy)
    typed.py        typed digits rendered from installed fonts (and which fonts are held out for measuring)
    training.py     the Keras side (the Keras model from the spec, the fast fit loop): the ONLY module
                    importing TensorFlow, imported by train.py alone

The network, its model card and calibration are below, in `network`; the versions are kept by `model_store`.
"""
