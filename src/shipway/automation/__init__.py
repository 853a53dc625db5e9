"""The controller that closes the loop (layer 5).

Monitoring rounds:
- :mod:`~shipway.automation.controller`: the controller, whose rounds run monitoring and
  move each loop; :mod:`~shipway.automation.rounds`: monitoring rounds on a schedule, run
  once in a cluster by whoever holds the lease; :mod:`~shipway.automation.monitoring`: the
  local monitoring service;
- :mod:`~shipway.automation.responder`: what a fired or resolved alert sets off: its sinks
  are told and its rule's action runs; :mod:`~shipway.automation.actions`: the actions (roll
  the deployment back, retrain); :mod:`~shipway.automation.sinks`: the transports (log,
  webhook, Slack, email, command).

Continuous-training loops:
- :mod:`~shipway.automation.loops`: a loop as ``shipway.toml`` declares it (triggers, gate,
  approval, rollout); :mod:`~shipway.automation.facts`: what a trigger reads from the store;
- :mod:`~shipway.automation.training`: the holdout, the pipeline, the registered version
  (:mod:`~shipway.automation.references`: what it is monitored against);
- :mod:`~shipway.automation.gate`: the candidate against the champion, with the paired gain;
- :mod:`~shipway.automation.rollouts`: approval and the canary's steps, each judged by
  :mod:`~shipway.automation.canary` (before labels on :mod:`~shipway.automation.estimates`);
- :mod:`~shipway.automation.loop_moves`: every move audited and told;
  :mod:`~shipway.automation.status`: what ``shipway loops status`` says.
"""
