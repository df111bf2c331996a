"""Change sets as CloudFormation has them, where moto's differ: executing one rolls back on
failure (like a stack operation), a name the CDK reuses on every deploy finds the newest change
set, and a change set that does not exist is ChangeSetNotFound (moto crashes on it, HTTP 500;
the CDK deletes its `cdk-diff-change-set` before each `cdk diff`, expecting that error), and a
stack's update (UpdateStack, ExecuteChangeSet) makes its other change sets OBSOLETE: they were
made against the stack as it was, with the role it had then (moto leaves them AVAILABLE). A
change set runs while its stack is held (stack_lock.py), EXECUTE_IN_PROGRESS meanwhile; a
stack's change sets go when it is deleted (stack_life.py)."""

from __future__ import annotations

from emulator.cloudformation import stack_lock, stack_parameters
from emulator.cloudformation.errors import change_set_not_found, invalid_status, validation_error
from emulator.cloudformation.stack_life import roll_back_create, run_update
from emulator.cloudformation.stack_role import find_stack
from emulator.cloudformation.update_checks import (UPDATABLE, changes_nothing,
                                                   give_values, read_template_url)

NO_CHANGES = ("The submitted information didn't contain changes. Submit different information "
              "to create a change set.")


def wrap_execute_change_set(original):
    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = describe_change_set(self, change_set_name, stack_name)
        stack = self.stacks.get(change_set.stack_id)  # its change sets go with it (stack_life.py)
        if stack is None:  # one kept from before that rule (persisted state): gone with it
            raise change_set_not_found(change_set_name)
        if change_set.execution_status == "EXECUTE_IN_PROGRESS":
            # A retry of this very call (an SDK's read timeout during a long update): accepted
            # at once, as AWS's ExecuteChangeSet is; the run it repeats goes on, and its outcome
            # is in the stack's status. Waiting for it here would hold a server thread for as
            # long, past the SDK's read timeout again.
            return
        # One operation on a stack at a time (stack_lock.py): a stack being created or updated
        # refuses it with InvalidChangeSetStatus ("the stack status might be
        # UPDATE_IN_PROGRESS", the model's shape). Its own status is read once the stack is
        # free: the update that held it may have made it OBSOLETE. EXECUTE_IN_PROGRESS from
        # the moment the stack is held: a DeleteChangeSet just after is refused, never let
        # through to moto's delete of a change set being run.
        with stack_lock.exclusive(stack, f"{change_set.change_set_type}_IN_PROGRESS",
                                  invalid_status, check=lambda: _executable(change_set),
                                  on_hold=lambda: _in_progress(change_set)):
            try:
                _execute(self, original, change_set, stack, stack_name)
            except BaseException:
                change_set.execution_status = "EXECUTE_FAILED"  # never in progress for good
                raise

    return execute_change_set


def _executable(change_set) -> None:
    if change_set.execution_status == "EXECUTE_IN_PROGRESS":
        raise invalid_status(IN_PROGRESS)
    if change_set.execution_status != "AVAILABLE":
        raise invalid_status(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
            f"execution status of [{change_set.execution_status}]")


def _in_progress(change_set) -> None:
    change_set.execution_status = "EXECUTE_IN_PROGRESS"


IN_PROGRESS = ("An operation on this ChangeSet is currently in progress.  "
               "Please attempt this operation again later.")  # AWS's words


def _execute(backend, original, change_set, stack, stack_name) -> None:
    """Run one change set while its stack is held: a CREATE one rolls back the stack it fails
    to make, an UPDATE one the update it fails (stack_life.run_update)."""
    if change_set.change_set_type == "CREATE":
        try:
            original(backend, change_set.change_set_id, stack_name)
        except Exception as error:
            change_set.execution_status = "EXECUTE_FAILED"
            stack.template = change_set.template
            stack._parse_template()
            roll_back_create(stack, error)
            return
        _take_template(stack, change_set)  # moto made its outputs from its empty template
        return
    ok = run_update(stack, lambda: original(backend, change_set.change_set_id, stack_name),
                    change_set.template, change_set.parameters)
    if not ok:
        change_set.execution_status = "EXECUTE_FAILED"  # the stack keeps its role
        return
    # moto's execute_change_set puts in the change set's template but never parses it: the
    # stack's description and outputs would stay those of the template before.
    _take_template(stack, change_set)
    if change_set.role_arn:
        stack.role_arn = change_set.role_arn  # the stack's role from now on (stack_role.py)
    obsolete_others(backend, stack, change_set)


def _take_template(stack, change_set) -> None:
    """The stack's template (as moto's execute_change_set left it, the change set's) as the
    change set parsed it, with the description and outputs it gives."""
    stack.template_dict = change_set.template_dict
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()


def wrap_create_change_set(original):
    """CloudFormationBackend.create_change_set: not for a stack another operation holds
    (stack_lock.py); CloudFormation answers it in an update's words."""

    def create_change_set(self, stack_name, *args, **kwargs):
        stack = find_stack(self, stack_name)
        if stack is not None:
            stack_lock.check_free(stack)
            # An update's change set only for a stack UpdateStack would take (moto makes one
            # for a ROLLBACK_COMPLETE or DELETE_FAILED stack), in the same words.
            if kwargs.get("change_set_type") == "UPDATE" and stack.status not in UPDATABLE:
                raise validation_error(stack_lock.busy_message(stack))
        return original(self, stack_name, *args, **kwargs)

    return create_change_set


def wrap_create_change_set_handler(original):
    """CloudFormationResponse.create_change_set: an update's change set that changes nothing is
    made, FAILED with CloudFormation's reason and no changes (SAM, the CDK and `aws
    cloudformation deploy` read it as "no changes"); one that changes something is AVAILABLE.
    AWS never refuses CreateChangeSet with "No updates are to be performed.": moto's check,
    which did when Parameters were given, is off for every update's change set, and
    update_checks.changes_nothing decides (moto's own FAILED ignored tags). Its parameters are
    checked and completed as UpdateStack's (stack_parameters.py); a CREATE change set's are
    checked as CreateStack's."""

    def create_change_set(self):
        # AWS's default type is UPDATE (the API reference); moto's is CREATE, which made a
        # second stack of an existing one's name
        if not self._get_param("ChangeSetType"):
            self.params["ChangeSetType"] = "UPDATE"
        stack = find_stack(self.cloudformation_backend, self._get_param("StackName"))
        if self._get_param("ChangeSetType") == "CREATE":
            read_template_url(self)
            self.params["Parameters"] = stack_parameters.for_create(
                stack_parameters.request_template(self), self._get_param("Parameters") or [])
            return original(self)
        if (stack is None or self._get_param("ChangeSetType") != "UPDATE"
                or stack.status not in UPDATABLE):
            return original(self)
        read_template_url(self)
        unchanged = changes_nothing(self, stack)
        give_values(self, stack)
        self._validate_different_update = lambda *args, **kwargs: None  # this call's only
        answer = original(self)
        found = _find_change_set(self.cloudformation_backend, self._get_param("ChangeSetName"),
                                 stack.stack_id)
        if found is not None:
            _settle(self.cloudformation_backend.change_sets[found], unchanged)
        return answer

    return create_change_set


def _settle(change_set, unchanged: bool) -> None:
    if unchanged:
        change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
        change_set.status_reason = NO_CHANGES
        change_set.changes = []  # moto lists its template's resources as Adds all the same
    else:
        change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
        change_set.status_reason = None


def wrap_update_stack(original):
    """CloudFormationBackend.update_stack: a successful update makes the stack's change sets
    OBSOLETE (an old one would bring back the template, and the role, it was made with)."""

    def update_stack(self, name, *args, **kwargs):
        stack = original(self, name, *args, **kwargs)
        if stack.status == "UPDATE_COMPLETE":
            obsolete_others(self, stack, None)
        return stack

    return update_stack


def obsolete_others(backend, stack, executed) -> None:
    """The stack's AVAILABLE change sets but `executed` can no longer be executed (AWS's
    ExecutionStatus OBSOLETE)."""
    for change_set in backend.change_sets.values():
        if (change_set is not executed and change_set.stack_id == stack.stack_id
                and change_set.execution_status == "AVAILABLE"):
            change_set.execution_status = "OBSOLETE"


def _find_change_set(backend, name: str, stack_name: str | None):
    if name in backend.change_sets:
        return name
    for change_set_id, change_set in reversed(list(backend.change_sets.items())):
        if change_set.change_set_name == name and (
                not stack_name or stack_name in (change_set.stack_name, change_set.stack_id)):
            return change_set_id
    return None


def delete_change_set(self, change_set_name, stack_name=None):
    """moto's crashes (500) on a change set it does not have; the CDK deletes its
    `cdk-diff-change-set` before every diff, expecting ChangeSetNotFound when there is none.
    One being executed stays (AWS: InvalidChangeSetStatus)."""
    change_set = describe_change_set(self, change_set_name, stack_name)
    if change_set.execution_status == "EXECUTE_IN_PROGRESS":
        raise invalid_status(IN_PROGRESS)
    del self.change_sets[change_set.change_set_id]


def describe_change_set(self, change_set_name, stack_name=None):
    """By id, or by name the newest of that name (for the stack, if named): the CDK reuses one
    name every deploy."""
    found = _find_change_set(self, change_set_name, stack_name)
    if found is None:
        raise change_set_not_found(change_set_name)
    return self.change_sets[found]

