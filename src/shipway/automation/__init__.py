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

Continuous-training loops, each part a collaborator the controller hands what it needs:
- :mod:`~shipway.automation.loops`: a loop as ``shipway.toml`` declares it (gate, approval,
  rollout); :mod:`~shipway.automation.triggers`: its triggers, one class per kind, and when
  they are due; :mod:`~shipway.automation.facts`: what a trigger reads from the store;
- :mod:`~shipway.automation.training`: the pipeline run and the registered version
  (:mod:`~shipway.automation.holdouts`: the rows the gate judges on;
  :mod:`~shipway.automation.references`: what the version is monitored against);
- :mod:`~shipway.automation.gate`: the candidate against the champion, with the paired gain,
  and :mod:`~shipway.automation.estimates` its calibration curves;
  :mod:`~shipway.automation.judging`: the gate run for a loop and its verdict recorded;
- :mod:`~shipway.automation.approval`: a gated candidate released, at once or by people;
- :mod:`~shipway.automation.rollouts`: the rollout and the canary's steps, each judged by
  :mod:`~shipway.automation.canary`;
- :mod:`~shipway.automation.records`: the one door to the stores for what the controller
  keeps (the lease, loops' states, its alerts, audit events, the log's listing);
  :mod:`~shipway.automation.journal`: every move checked, audited and told;
  :mod:`~shipway.automation.background`: trainings on threads of their own and the lease
  kept meanwhile; :mod:`~shipway.automation.status`: what ``shipway loops status`` says.
"""
