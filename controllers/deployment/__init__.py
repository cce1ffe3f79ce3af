"""The Deployment controller (`pkg/controller/deployment`) and kubectl's rollout helpers.

    dc = DeploymentController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(dc.controller)                       # actor "controller/deployment"

    deployment, message = await undo(client, "web", "default", to_revision=2)
    entries = await history(client, "web", "default")   # {revision: (ReplicaSet, change-cause)}
    message, done = rollout_status(deployment)

Modules, split as upstream: `plan` (pure arithmetic), `util` (annotations, hashing,
conditions), `sync`, `rolling`, `recreate`, `progress`, `controller`, `rollback` (kubectl side).
Errors of the kubectl side are rooted at `RolloutError` (see `rollback`).
"""

from controllers.deployment.controller import (
    DEPLOYMENT_COMPONENT,
    DEPLOYMENT_NAME,
    DeploymentController,
)
from controllers.deployment.rollback import (
    DeadlineExceeded,
    NoRolloutHistory,
    PausedRollback,
    RevisionMismatch,
    RevisionNotFound,
    RollbackFailed,
    RolloutError,
    format_history,
    history,
    rollout_status,
    undo,
)

__all__ = [
    "DEPLOYMENT_COMPONENT",
    "DEPLOYMENT_NAME",
    "DeadlineExceeded",
    "DeploymentController",
    "NoRolloutHistory",
    "PausedRollback",
    "RevisionMismatch",
    "RevisionNotFound",
    "RollbackFailed",
    "RolloutError",
    "format_history",
    "history",
    "rollout_status",
    "undo",
]
