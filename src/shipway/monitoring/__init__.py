"""Monitoring: windows over the prediction log and ground truth, and the monitors run on them."""
