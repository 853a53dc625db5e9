"""The controller that closes the loop (layer 5).

- :mod:`~shipway.automation.rounds`: monitoring rounds on a schedule, run once in a cluster
  by whoever holds the lease;
- :mod:`~shipway.automation.responder`: what a fired or resolved alert sets off: its sinks
  are told and its rule's action runs;
- :mod:`~shipway.automation.actions`: the actions (roll the deployment back, retrain);
- :mod:`~shipway.automation.sinks`: the transports (log, webhook, Slack, email, command).
"""
