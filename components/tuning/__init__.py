"""The hyperparameter search before the Trainer: TFX's Tuner, with each trial's time recorded."""
