"""create_app(settings): the one place that wires state, services, routes and moto together.

The Flask app (control endpoint, registry, metadata, faults, front door) is built on first use:
importing Flask and those routes costs about a third of the start-up, and an ECS call needs none
of it (aws/router.py serves ECS and ECR without Flask).
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field

from api_shapes import load_service
from emulator import cloudformation
from emulator.access.browsers import BrowserRules
from emulator.access import host_addresses
from emulator.access.callers import Callers
from emulator.access.control_token import ControlToken
from emulator.access.gate import Gate
from emulator.access.host_access import EngineView, resolved_under
from emulator.access.rights import Rights
from emulator.aws.errors import UnsupportedOperation
from emulator.aws.json_service import JsonService
from emulator.aws.moto_bridge import MotoBridge
from emulator.aws.router import AwsRouter
from emulator.config import Settings, docker_concurrency_for
from emulator.ecr import errors as ecr_errors
from emulator.ecr.store import EcrState
from emulator.ecs import api as ecs_api
from emulator.ecs.errors import InvalidParameterException, UnsupportedFeatureException
from emulator.ecs import contributions, placement
from emulator.ecs.local_instance import LocalHost
from emulator.ecs.store import EcsState
from emulator.registry import data_root as registry_data_root
from emulator import data_lock, persistence
from emulator.engine.ecs_events import EcsEvents
from emulator.engine import engines
from emulator.engine.express_infrastructure import ExpressInfrastructure
from emulator.engine.faults import EXTENSION as FAULTS_EXTENSION, Faults
from emulator.engine.load_balancing import LoadBalancerTargets
from emulator.engine.cloud_map_namespaces import CloudMapNamespaces
from emulator.engine.service_discovery import CloudMapInstances
from emulator.engine.target_group_ports import TargetGroupPorts
from emulator.engine.ecr_images import EcrImages
from emulator.engine import first_placement
from emulator.engine.scheduler import ServiceScheduler
from emulator.engine.service_failures import CloudWatchAlarms
from emulator.engine.task_engine import TaskEngine
from emulator.engine.task_environment import BaseEnvironment
from emulator.engine.task_logs import AwsLogs
from emulator.engine.task_credentials import CREDENTIALS_EXTENSION, TaskRoleCredentials
from emulator.engine.task_secrets import SecretsAndEnvironmentFiles
from emulator.engine import task_images, task_volumes
from emulator.exec.sessions import ExecSessions
from emulator.metadata.link_local import LinkLocalEndpoint


@dataclass
class Emulator:
    """Everything one running emulator holds. `wsgi` is what the HTTP server serves."""

    settings: Settings
    wsgi: AwsRouter
    ecs: EcsState
    moto: MotoBridge
    engine: TaskEngine
    scheduler: ServiceScheduler
    # Set by the server: the base URL containers reach the emulator on (see container_endpoint).
    container_endpoint_provider: object = None
    ecr: EcrState | None = None
    closers: list = field(default_factory=list)  # called on stop, after the engine's
    data_lock: object = None  # the data directory's (data_lock.py), let go of last on stop
    starters: list = field(default_factory=list)  # called on start, before the engine's
    http_port: int = 0  # the port we serve on, once the server has bound it
    callers: Callers | None = None  # who is calling, by address (access/callers.py)
    # What the control endpoints ask of this host's callers where containers pass for it.
    control_token: ControlToken = field(default_factory=ControlToken)
    # The host names and web pages' origins the listeners serve (access/browsers.py).
    browsers: BrowserRules = field(default_factory=BrowserRules)
    # Flask's app.extensions of the app to come, by key (the routes find their hooks there).
    flask_extensions: dict = field(default_factory=dict)
    _flask_app: object = None
    _flask_lock: threading.Lock = field(default_factory=threading.Lock)
    _local_users: object = None
    _local_users_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def flask(self):
        """The Flask app of our own routes, built on first use (see the module's docstring)."""
        with self._flask_lock:
            if self._flask_app is None:
                self._flask_app = _flask_app(self)
            return self._flask_app

    @property
    def local_users(self):
        """Which of this host's users every listener of ours serves (access/local_users.py),
        made on first use: its check of sock_diag is no cost to an emulator that never listens."""
        with self._local_users_lock:
            if self._local_users is None:
                from emulator.access.local_users import LocalUsers

                self._local_users = LocalUsers(self.settings.local_users)
            return self._local_users

    @property
    def registry(self):
        """The OCI registry under /v2/ (emulator/registry/), made on first use: ECR's state holds
        it, and an ECS call needs none of it (its modules are a tenth of the start-up)."""
        return self.ecr.registry if self.ecr is not None else None

    def start(self) -> None:
        for start in self.starters:
            start()
        self.engine.start()
        self.scheduler.start()

    def stop(self) -> None:
        try:
            self.scheduler.stop()
            try:
                self.engine.stop(remove_everything=not self.settings.keep_resources)
            finally:
                for close in self.closers:
                    _close(close)
        finally:
            # Last, whatever failed before: the saved state is written (a closer) while the
            # directory is still ours, and a failed stop must not keep it from the next start.
            if self.data_lock is not None:
                self.data_lock.release()

    def reset(self) -> None:
        if self.ecs.exec_sessions is not None:
            self.ecs.exec_sessions.close_all()
        with self.ecs.lock:
            self.ecs.reset()  # services go first, so nothing launches replacements
        self.engine.reset()
        if self.ecr is not None:
            self.ecr.reset()
        self.moto.reset()
        if self.ecr is not None:
            # With a data directory the registry's files may be there from an earlier run: made
            # now to empty them. Without one, a registry nothing used holds nothing.
            registry = (self.ecr.registry if self.settings.data_dir
                        else self.ecr.registry_if_made())
            if registry is not None:
                registry.reset()

    def gate(self, container_facing: bool) -> Gate:
        """What a listener serves: `wsgi` behind the access rules (access/gate.py). Made when a
        listener opens, so it wraps `wsgi` as the command line left it (with its request log)."""
        return Gate(self.wsgi, self.callers, container_facing, self.control_token,
                    self.ecs.front_doors, self.browsers,
                    local_users=self.local_users if container_facing else None)

    def container_endpoint(self, runtime=None) -> str:
        """http://<address containers reach>:<port>, for containers on `runtime`'s Docker
        Engine (the default's unless told); the server opens that listener on demand."""
        return self.container_endpoint_provider(runtime)


def create_app(settings: Settings | None = None) -> Emulator:
    settings = settings or Settings.from_env()
    # Before anything reads or empties the data directory: another live emulator's state is
    # not ours to take (data_lock.py). Released when the emulator stops, or fails to be made.
    lock = data_lock.hold(settings.data_dir) if settings.data_dir else None
    try:
        emulator = _wired(settings)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    emulator.data_lock = lock
    return emulator


def _close(close) -> None:
    """One closer: its failure is logged, and the closers after it still run (each lets go of
    something of its own: addresses, listeners, rules, the saved state)."""
    try:
        close()
    except Exception:
        logging.getLogger(__name__).exception("stopping: %r failed", close)


def _wired(settings: Settings) -> Emulator:
    ecs_state = EcsState(contributions.standard())
    moto = MotoBridge()
    ecs = JsonService(
        shapes=load_service("ecs"),
        handlers=ecs_api.handlers(),
        state=ecs_state,
        invalid_parameter=InvalidParameterException,
        not_implemented=UnsupportedFeatureException,
        strict_responses=settings.strict_responses,
    )
    if settings.data_dir:  # an unusable data directory stops the start, not the first push
        registry_data_root(settings.data_dir)
    ecr_state = EcrState(settings, registry_factory=lambda: _registry(settings, ecr_state))
    ecr = JsonService(
        shapes=load_service("ecr"),
        handlers=_ecr_handlers,  # imported on the first ECR call
        state=ecr_state,
        invalid_parameter=ecr_errors.InvalidParameterException,
        # ECR's model has no exception that says "not supported"; see aws/errors.py.
        not_implemented=UnsupportedOperation,
        strict_responses=settings.strict_responses,
    )
    emulator = None  # the router asks for the Flask app after create_app has returned
    rights = Rights(settings, moto)
    router = AwsRouter(lambda: emulator.flask, [ecs, ecr], moto, settings, rights=rights)
    keeper = persistence.keeper_for(settings)
    from emulator.runtime.docker_network import BridgeClaims  # docker_runtime imports it too

    claims = BridgeClaims()  # the engines' default bridges tasks use
    engine = TaskEngine(ecs_state, lambda: _docker_runtime(keeper, settings, None, claims,
                                                           settings.own_container),
                        settings)
    ecs_state.express = ExpressInfrastructure(moto)
    ecs_state.local_host = LocalHost(lambda: engine.runtime.host_resources(),
                                     enabled=settings.auto_container_instance)
    scheduler = ServiceScheduler(ecs_state, settings, placer=placement.place)
    engine.task_listeners.append(scheduler.on_task_changed)
    # CreateService and UpdateService answer once their tasks have started
    first_placement.install(ecs, scheduler, engine.task_listeners, settings)
    emulator = Emulator(settings=settings, wsgi=router, ecs=ecs_state, moto=moto,
                        engine=engine, scheduler=scheduler)
    emulator.callers = Callers(ecs_state, lambda: engine.runtime,
                               lambda name: engine.engines.readable(name))
    engine.network_listeners.append(emulator.callers.forget_view)
    emulator.control_token = ControlToken(settings.control_token)
    # The Docker Engines pull our images by the registry addresses they are told: names of ours.
    # A --host given as a name is one too: the dashboard's link printed at start-up names it.
    emulator.browsers = BrowserRules(
        (*settings.allowed_hosts, settings.host.rstrip(".")), settings.allowed_origins,
        lambda: [settings.registry_address, *(engine.engines.registry_addresses()
                                              if engine.engines is not None else ())])
    # A task's containers call the gateway of their engine's network; those of an engine on
    # another machine are given the default engine's (README: Several Docker Engines).
    engine.hooks.append(BaseEnvironment(
        lambda task: emulator.container_endpoint(
            engine.runtime_of(task) if engine.engines.on_this_machine(task) else None),
        settings.inject_endpoint))
    _add_task_hooks(emulator, settings)
    emulator.ecr = ecr_state
    ecr_images = EcrImages(ecr_state, settings, lambda: emulator.http_port)
    engine.hooks.append(ecr_images)
    ecr_state.principal_of = _iam_principal(moto)
    engine.hooks.append(AwsLogs(moto, engine.runtime_of))  # the awslogs log driver
    _add_service_integrations(emulator, settings)
    engines.install(emulator, settings,
                    lambda environment: _docker_runtime(keeper, settings, environment, claims))
    _add_exec(emulator)
    # The engines' gateways are this host's too (access/host_addresses.py), while it runs.
    # Only engines on this machine that answer: no request waits on an engine that is away.
    def gateways():
        return [gateway for name in list(engine.engines.engines)
                for runtime in [engine.engines.readable(name)] if runtime is not None
                for gateway in runtime.gateways()]

    emulator.starters.append(lambda: host_addresses.add_gateways(gateways))
    # First of the closers: one that fails after it cannot leave this emulator's gateways behind.
    emulator.closers.insert(0, lambda: host_addresses.remove_gateways(gateways))
    # What the host-access checks ask the Docker Engines (access/host_access.py).
    checks = task_images.ImageChecks(engine.engines)
    rights.engine_view = EngineView(
        foreign_volume=lambda name, account: task_volumes.foreign_volume(engine.engines, name,
                                                                         account),
        own_registry=ecr_images.is_ours, unserved_image=checks.unserved_image,
        resolve=resolved_under(checks),
        default_account=settings.default_account_id)
    cloudformation.install(emulator, ecs=ecs, ecr=ecr, rights=rights)  # stacks make ECS/ECR resources
    emulator.flask_extensions["emulator"] = emulator
    if keeper is not None:
        persistence.attach(emulator, keeper)
    return emulator


def _registry(settings: Settings, ecr_state: EcrState):
    """The OCI registry, with ECR's hooks (which repositories exist, who may push and pull)."""
    from emulator.ecr.hooks import EcrRegistryHooks
    from emulator.registry import create_registry

    registry = create_registry(settings)
    registry.hooks = EcrRegistryHooks(ecr_state)
    return registry


def _ecr_handlers():
    from emulator.ecr import api

    return api.handlers()


def _flask_app(emulator: Emulator):
    from flask import Flask

    from emulator import control, engine_routes, faults_routes, front_door_routes
    from emulator.ecr import control as ecr_control
    from emulator.exec import routes as exec_routes
    from emulator.exec.service import EXTENSION as EXEC_EXTENSION
    from emulator.metadata import agent_routes
    from emulator.metadata import routes as metadata_routes
    from emulator.registry import routes as registry_routes
    from emulator.ui import routes as ui_routes

    flask_app = Flask("emulator")
    flask_app.extensions.update(emulator.flask_extensions)
    flask_app.extensions[EXEC_EXTENSION] = _exec_service(emulator)
    flask_app.register_blueprint(control.blueprint)
    flask_app.register_blueprint(registry_routes.blueprint)
    flask_app.register_blueprint(ecr_control.blueprint)
    flask_app.register_blueprint(metadata_routes.blueprint)
    flask_app.register_blueprint(agent_routes.blueprint)
    flask_app.register_blueprint(faults_routes.blueprint)
    flask_app.register_blueprint(engine_routes.blueprint)
    flask_app.register_blueprint(ui_routes.blueprint)
    flask_app.register_blueprint(front_door_routes.moved)  # the doors are on a port of their own
    flask_app.register_blueprint(exec_routes.blueprint)
    return flask_app


def _add_exec(emulator: Emulator) -> None:
    """ECS Exec: ExecuteCommand opens sessions whose data channels the route serves (with the
    Flask app: _exec_service)."""
    sessions = ExecSessions()
    emulator.ecs.exec_sessions = sessions
    emulator.closers.insert(0, sessions.close_all)


def _exec_service(emulator: Emulator):
    """What the exec route serves a session's data channel with; made with the Flask app, as
    its WebSocket, Docker exec and log modules are only a session's."""
    from emulator.exec.service import ExecService
    from emulator.exec.session_logs import SessionLogs

    return ExecService(emulator.ecs.exec_sessions,
                       lambda engine: emulator.engine.engines.runtime_named(engine).api,
                       SessionLogs(emulator.moto))


def _iam_principal(moto: MotoBridge):
    """(access key, account, region) -> the caller's IAM ARN as moto's STS GetCallerIdentity
    answers it; None for keys moto cannot have issued (IAM's AKIA..., STS's ASIA...), so the
    usual dummy keys never load moto."""

    def principal_of(access_key: str, account: str, region: str) -> str | None:
        if not access_key.startswith(("AKIA", "ASIA")):
            return None
        _, arn, _ = moto.backend("sts", account, "global").get_caller_identity(access_key, region)
        return arn

    return principal_of


def _add_task_hooks(emulator: Emulator, settings: Settings) -> None:
    """Task roles, secrets and environment files (after BaseEnvironment, so theirs win)."""
    engine = emulator.engine
    link_local = LinkLocalEndpoint(lambda: emulator.gate(container_facing=True), lambda: engine.runtime.ensure_network()[1],
                                   enabled=settings.link_local_credentials)
    emulator.closers.append(link_local.stop)
    # Served on 169.254.170.2 to a task whose engine runs here, with a gateway of this host's.
    credentials = TaskRoleCredentials(emulator.moto, lambda task: (
        engine.engines.on_this_machine(task)
        and link_local.serves(engine.runtime_of(task).ensure_network()[1])))
    engine.hooks.append(credentials)
    engine.hooks.append(SecretsAndEnvironmentFiles(emulator.moto, settings.enforce_iam))
    emulator.flask_extensions[CREDENTIALS_EXTENSION] = credentials


def _add_service_integrations(emulator: Emulator, settings: Settings) -> None:
    """Load balancer targets, Cloud Map instances, EventBridge events, and faults on purpose."""
    engine, state, moto = emulator.engine, emulator.ecs, emulator.moto
    load_balancers = LoadBalancerTargets(state, moto)
    state.contributions.target_group = load_balancers.target_group  # CreateService's checks
    # Service Connect's namespaces, found or made in Cloud Map (CreateCluster, CreateService)
    state.contributions.cloud_map_namespace = CloudMapNamespaces(moto).resolve
    target_group_ports = TargetGroupPorts()  # moto's ELBv2, as ELB keys targets, while we run
    moto.on_load.append(target_group_ports.install)
    emulator.closers.append(target_group_ports.uninstall)
    cloud_map = CloudMapInstances(state, moto, settings.publish_host)
    state.contributions.cloud_map_dns_records = cloud_map.dns_record_types  # CreateService's
    engine.hooks += [load_balancers, cloud_map]
    events = EcsEvents(state, moto)
    engine.task_listeners.append(events.on_task_changed)  # known status moves
    state.door.watchers.append(events.on_task_changed)  # tasks admitted, asked to stop
    emulator.scheduler.service_listeners.append(events.on_service_pass)
    emulator.scheduler.service_listeners.append(load_balancers.on_service_pass)  # initial->healthy
    emulator.scheduler.alarms_in_alarm = CloudWatchAlarms(moto)
    emulator.flask_extensions[FAULTS_EXTENSION] = Faults(
        state, engine, settings, load_balancers, cloud_map)


def _docker_runtime(keeper, settings, environment=None, bridge_claims=None, own_container=None):
    from emulator.metadata.link_local import interface_with
    from emulator.runtime import engine_locality
    from emulator.runtime.docker_runtime import DockerRuntime
    from emulator.runtime.labels import new_instance_id

    # One instance id per emulator, so that stopping one never removes another's containers,
    # even within one process (a test session may run several). A persisted emulator keeps its
    # id across restarts: its containers and network are found again by their labels.
    # `own_container`: the emulator's own container (ECS_EMULATOR_OWN_CONTAINER), given for
    # the default engine only, whose network it joins (server.py).
    # None: the SDK reads DOCKER_HOST
    environment = environment or settings.docker_environment() or None
    # The default bridge's gateway is an address of the engine's host; an engine elsewhere may
    # well have the one this host's docker0 has (172.17.0.1): only a local engine's can be ours
    # (and docker_network.default_bridge asks more: not rootless, not in a VM, the very bridge).
    docker_host = (environment or {}).get("DOCKER_HOST") or "unix://"
    local = engines.on_this_machine(docker_host)
    task_network = _task_network(settings)
    options = dict(environment=environment,
                   concurrency=docker_concurrency_for(settings, task_network),
                   task_network=task_network,
                   interface_with=interface_with if local else lambda _: None,
                   bridge_claims=bridge_claims,
                   # and only where the dockerd is in this network namespace: every engine's
                   # docker0 has 172.17.0.1, a docker:dind's too
                   engine_local=functools.partial(engine_locality.why_not_local, docker_host),
                   own_container=own_container)
    if keeper is None:
        return DockerRuntime(instance_id=new_instance_id(), **options)
    return DockerRuntime(instance_id=keeper.instance_id(new_instance_id),
                         state_dir=str(keeper.directory), **options)


def _task_network(settings) -> str:
    """ECS_EMULATOR_TASK_NETWORK, but the emulator's own network for an emulator run as a
    container: it reaches its tasks by joining their network, which the default bridge would
    make every container's neighbour, and sees them from there, not from a gateway of this
    host's (runtime/own_container.py)."""
    if settings.task_network == "default-bridge" and settings.own_container:
        logging.getLogger("emulator.runtime").warning(
            "tasks attach to the emulator's own network, not the default bridge "
            "(ECS_EMULATOR_TASK_NETWORK): the emulator runs in a container")
        return "emulator"
    return settings.task_network
