"""Loading a trained model and predicting; never imports the training stack (Lightning)."""
