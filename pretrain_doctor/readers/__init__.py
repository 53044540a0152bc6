"""Readers: turn logged runs (text logs, and more) into StepRecords for the detectors.

No torch here; TensorBoard event files are read with tensorboard's own reader, imported
lazily by the module that needs it.
"""
