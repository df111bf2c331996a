"""CloudFormation stacks that make OUR ECS and ECR resources (moto serves CloudFormation itself).

`install(emulator, ecs=..., ecr=..., rights=...)`, called by the app factory, does two things:
- hangs the emulator's ECS and ECR services on its MotoBridge, where the resource types find them
  for the stack's request (several emulators may share one process, and moto with them);
- once per process, puts our resource types in moto's type -> class map in place of moto's own
  ECS and ECR models, and wraps the few functions of moto's stack engine that the modules below
  describe.

Modules: resource (the protocol and the way to our APIs), properties (template -> API request),
ecs_clusters, ecs_services, ecr_resources (one per resource family), not_emulated (the ECS and
ECR types refused), request_tokens (ClientRequestToken's retries), stack_life (events,
rollback, delete), termination_protection (UpdateTerminationProtection), continue_rollback
(ContinueUpdateRollback), stack_lock (one
operation on a stack at a time), replacements (an update's clean-up phase), change_sets,
stack_role (the service role a stack acts with), update_scope (what an update touches),
update_checks (what UpdateStack refuses first), parameter_values (UsePreviousValue and
defaults, compared as given), stack_parameters (parameters refused, completed and shown as
CloudFormation has them), update_rights (an update checked as a whole
under IAM enforcement), template_inputs (SSM, dynamic references, template URLs),
template_limits (a template's size), template_types (resource types that do not exist
refused), template_validation (ValidateTemplate: structure, not property values), ec2_network
(deleting a stack's VPC network), cloud_map (Cloud Map's namespaces and services, which moto
serves but does not make from a template), output_checks (outputs naming what moto cannot give),
ssm_parameters (moto's SSM parameter named when the template names none), teardown (a
stack's resources and outputs while it is deleted).
"""

from __future__ import annotations

import threading

from emulator.cloudformation.resource import EXTENSION, Services

_installed = False
_install_lock = threading.Lock()


def install(emulator, *, ecs, ecr, rights=None) -> None:
    emulator.moto.extensions[EXTENSION] = Services(ecs=ecs, ecr=ecr, settings=emulator.settings,
                                                   rights=rights)
    emulator.moto.on_load.append(_install_into_moto)


def _install_into_moto() -> None:
    """Idempotent, process-wide: moto's engine is one per process."""
    global _installed
    with _install_lock:
        if _installed:
            return
        # Imported here, when moto itself is loaded: an emulator that is never asked for a
        # stack (or anything of moto's) does not pay for them at start-up.
        from moto.cloudformation import models, parsing, responses

        from emulator.cloudformation import safe_yaml

        safe_yaml.disarm()  # before any template is read: moto's loader runs python tags

        from emulator.cloudformation import (change_sets, cloud_map, continue_rollback,
                                             ecr_resources,
                                             ecs_clusters,
                                             ecs_services, not_emulated, output_checks,
                                             replacements,
                                             request_tokens, ssm_parameters, stack_life,
                                             stack_parameters, stack_role, teardown,
                                             template_inputs, template_limits, template_types,
                                             template_validation,
                                             termination_protection, update_checks,
                                             update_scope)

        ssm_parameters.install()
        resource_types = (ecs_clusters.TYPES + ecs_services.TYPES + ecr_resources.TYPES
                          + not_emulated.TYPES)
        model_map = parsing.get_model_map()  # lru_cached: this dict is the one moto reads
        name_map = parsing.get_name_type_map()
        # Cloud Map's types are moto's kind (its backend, its rights checks), not in `ours`.
        for resource_type in resource_types + cloud_map.TYPES:
            model_map[resource_type.TYPE] = resource_type
            name_map[resource_type.TYPE] = resource_type.cloudformation_name_type()

        parsing.parse_resource_and_generate_name = stack_life.wrap_parse(
            ssm_parameters.wrap_parse(parsing.parse_resource_and_generate_name),
            frozenset(t.TYPE for t in resource_types))
        parsing.parse_and_create_resource = stack_life.wrap_create(
            parsing.parse_and_create_resource)
        parsing.parse_and_update_resource = stack_life.wrap_update(
            parsing.parse_and_update_resource)
        parsing.clean_json = template_inputs.wrap_clean_json(parsing.clean_json)
        resource_map = parsing.ResourceMap
        resource_map.build_resource_diff = update_scope.wrap_build_resource_diff(
            resource_map.build_resource_diff, frozenset(t.TYPE for t in resource_types))
        resource_map.update = update_scope.wrap_update(
            replacements.wrap_resource_map_update(resource_map.update),
            lambda: parsing.parse_and_update_resource, frozenset(t.TYPE for t in resource_types))
        resource_map.__getitem__ = teardown.wrap_getitem(resource_map.__getitem__)
        resource_map.delete = replacements.wrap_resource_map_delete(resource_map.delete)
        resource_map._delete_resource = stack_life.wrap_delete_resource(
            resource_map._delete_resource)
        resource_map.parse_ssm_parameter = template_inputs.wrap_parse_ssm_parameter(
            resource_map.parse_ssm_parameter)
        resource_map.validate_outputs = output_checks.wrap_validate_outputs(
            resource_map.validate_outputs)
        resource_map.load_parameters = stack_parameters.wrap_load_parameters(
            resource_map.load_parameters)

        responses.CloudFormationResponse.update_stack = update_checks.wrap_update_stack_handler(
            responses.CloudFormationResponse.update_stack)
        responses.CloudFormationResponse.create_stack = (
            stack_parameters.wrap_create_stack_handler(
                responses.CloudFormationResponse.create_stack))
        responses.CloudFormationResponse.get_template_summary = (
            stack_parameters.wrap_get_template_summary_handler(
                responses.CloudFormationResponse.get_template_summary))
        responses.CloudFormationResponse.continue_update_rollback = (
            continue_rollback.continue_update_rollback)  # before the role's and token's wraps
        for handler, operation in stack_role.OPERATIONS.items():
            setattr(responses.CloudFormationResponse, handler, stack_role.wrap_handler(
                getattr(responses.CloudFormationResponse, handler), operation))
        # Outermost: a retry with the token of a call already made is answered before any of
        # the checks and work the first call went through.
        for handler, operation in (("create_stack", "CreateStack"),
                                   ("update_stack", "UpdateStack"),
                                   ("continue_update_rollback", "ContinueUpdateRollback")):
            setattr(responses.CloudFormationResponse, handler, request_tokens.wrap_handler(
                getattr(responses.CloudFormationResponse, handler), operation))
        responses.CloudFormationResponse.create_change_set = (
            change_sets.wrap_create_change_set_handler(
                responses.CloudFormationResponse.create_change_set))
        responses.CloudFormationResponse.update_termination_protection = (
            termination_protection.update_termination_protection)
        models.Stack.create_resources = stack_life.wrap_create_resources(
            models.Stack.create_resources)
        models.Stack.update = stack_life.wrap_stack_update(models.Stack.update)
        models.Stack.stack_resources = property(teardown.stack_resources)
        models.Stack.parameter_list = property(stack_parameters.shown)
        models.ChangeSet.Meta = type("Meta", (), {"serialization_aliases": {
            "Parameters": "shown_parameters"}})
        models.ChangeSet.shown_parameters = property(stack_parameters.change_set_shown)
        backend = models.CloudFormationBackend
        backend.execute_change_set = change_sets.wrap_execute_change_set(
            backend.execute_change_set)
        backend.update_stack = change_sets.wrap_update_stack(backend.update_stack)
        backend.create_change_set = change_sets.wrap_create_change_set(
            backend.create_change_set)
        template_types.wrap_backend(backend)  # on top: a template's types are checked first
        backend.delete_stack = stack_life.delete_stack
        backend.delete_change_set = change_sets.delete_change_set
        backend.describe_change_set = change_sets.describe_change_set
        backend.describe_stack_events = stack_life.wrap_describe_stack_events(
            backend.describe_stack_events)
        backend.describe_stack_resources = template_inputs.describe_stack_resources
        responses.get_stack_from_s3_url = template_inputs.template_from_url
        responses.CloudFormationResponse.validate_template = template_validation.validate_template
        # Outermost of all: AWS's input validation refuses an over-long template first.
        for handler in template_limits.HANDLERS:
            setattr(responses.CloudFormationResponse, handler, template_limits.wrap_handler(
                getattr(responses.CloudFormationResponse, handler)))
        _installed = True
