"""The data plane: deployments, routing, the model server, the prediction log, batch scoring."""
