"""What moto may do beyond answering calls: run no containers.

moto serves every caller, tasks included, and some of its services act outside the process:
- Batch and Lambda run containers on this host's Docker, as given (Batch passes `privileged` and
  host path volumes through): a task's job definition would be root on the host. moto's
  docker-less backends are used instead (`use_docker: False`): a Batch job succeeds at once,
  an Invoke answers its event back (or what `/moto-api/static/lambda-simple/response` queued).
  Lambda functions invoked by other services (S3 notifications, CloudFormation custom resources,
  SNS, Kinesis, DynamoDB streams, log subscriptions) call the function object directly, past the
  backend, so that call answers the same way; and moto's Docker client refuses, should any other
  path reach it.
"""

from __future__ import annotations

import json
import logging
import threading

log = logging.getLogger("emulator.moto")

LAMBDA_SIMPLE_ANSWER = "Simple Lambda happy path OK"  # moto's docker-less Lambda's

_installed = threading.Lock()
_done = False


def configure(config: dict) -> None:
    """moto's docker-less Batch and Lambda (set before moto serves its first call)."""
    config.setdefault("batch", {})["use_docker"] = False
    config.setdefault("lambda", {})["use_docker"] = False


def install() -> None:
    """Patch moto's ways out of the process (once per process: moto's classes are global)."""
    global _done
    with _installed:
        if _done:
            return
        _refuse_docker()
        _done = True


# -- no containers --------------------------------------------------------------------------------

def _refuse_docker() -> None:
    import docker.errors
    from moto.awslambda import models as lambda_models
    from moto.utilities import docker_utilities

    def refused(self):
        raise docker.errors.DockerException("the emulator's moto runs no containers")

    docker_utilities.DockerModel.docker_client = property(refused)

    def invoke_without_docker(self, event=None):
        # As moto's LambdaSimpleBackend.invoke answers: what is queued, else the event back.
        from moto.awslambda_simple.models import lambda_simple_backends

        queued = lambda_simple_backends[self.account_id][self.region].lambda_simple_results_queue
        if queued:
            return queued.pop(0), False, ""
        if isinstance(event, (dict, list)):
            event = json.dumps(event)
        return event or LAMBDA_SIMPLE_ANSWER, False, ""

    lambda_models.LambdaFunction._invoke_lambda = invoke_without_docker
