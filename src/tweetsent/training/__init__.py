"""Training on PyTorch Lightning: config and presets, the LightningModule, callbacks, the run."""
