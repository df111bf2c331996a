"""request_tokens without a server: a CreateStack retried with its ClientRequestToken while
the first call runs, before that call has put its stack in moto's stacks (reading its template,
checking its types), waits for it and answers its stack id; it was sent on to moto, which
answered AlreadyExistsException once the first had made the stack."""

import threading
from types import SimpleNamespace

from emulator.cloudformation import request_tokens


class Response:
    """The part of moto's CloudFormationResponse the wrapper reads."""

    def __init__(self, backend, **params):
        self.cloudformation_backend, self.params = backend, params

    def _get_param(self, name, default=None):
        return self.params.get(name, default)


def test_a_create_retried_before_its_stack_is_in_waits_for_the_first():
    backend = SimpleNamespace(stacks={})
    reading, release, made = threading.Event(), threading.Event(), []

    def create_stack(response):
        made.append(response)
        reading.set()
        assert release.wait(10)
        stack = SimpleNamespace(stack_id="arn:stack/s/1", name="s",
                                events=[SimpleNamespace(client_request_token=None)])
        backend.stacks[stack.stack_id] = stack
        return "first"

    handler = request_tokens.wrap_handler(create_stack, "CreateStack")
    answers = {}

    def call(which):
        answers[which] = handler(Response(backend, StackName="s", ClientRequestToken="t"))

    first = threading.Thread(target=call, args=("first",))
    first.start()
    assert reading.wait(10)
    retry = threading.Thread(target=call, args=("retry",))
    retry.start()
    retry.join(0.3)
    assert retry.is_alive() and len(made) == 1  # waiting, not sent on
    release.set()
    first.join(10)
    retry.join(10)
    assert answers["first"] == "first" and len(made) == 1
    assert answers["retry"].result == {"StackId": "arn:stack/s/1"}
    assert request_tokens._running == {}
