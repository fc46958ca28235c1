"""`mlpipe tune`: cross-validation on the training split (``cv``), the Optuna study around it
(``study``) and its result JSON (``result``). Above evaluation and model, below the stages; no
pipeline stage imports it, so changing it reruns nothing."""
