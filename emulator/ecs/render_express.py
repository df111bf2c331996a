"""Express Mode services as wire dicts (ECSExpressGatewayService, UpdatedExpressGatewayService,
ExpressGatewayServiceConfiguration); the rules are in emulator/ecs/express_services.py."""

from __future__ import annotations

from emulator.ecs import express_services
from emulator.ecs.service_deployments import deployment_arn, revision_arn
from emulator.ecs.store import EcsStore

_REASONS = {"ACTIVE": None, "DRAINING": "The Express service is being deleted.",
            "INACTIVE": "The Express service was deleted."}


def service(store: EcsStore, express, host: str, include_tags: bool = True) -> dict:
    item = express.service
    return {
        "cluster": item.cluster_arn,
        "serviceName": item.name,
        "serviceArn": item.arn,
        "infrastructureRoleArn": express.infrastructure_role_arn,
        "status": _status(item),
        "currentDeployment": deployment_arn(store, item, item.history[0]),
        "activeConfigurations": [configuration(store, express, d, host)
                                 for d in item.deployments if d.id in express.configurations],
        "tags": item.tags if include_tags else None,
        "createdAt": express.created_at,
        "updatedAt": express.updated_at,
    }


def updated(store: EcsStore, express, host: str) -> dict:
    item = express.service
    return {
        "serviceArn": item.arn,
        "cluster": item.cluster_arn,
        "serviceName": item.name,
        "status": _status(item),
        "targetConfiguration": configuration(store, express, item.primary, host),
        "createdAt": express.created_at,
        "updatedAt": express.updated_at,
    }


def configuration(store: EcsStore, express, deployment, host: str) -> dict:
    settings = express.configurations[deployment.id]
    return {
        "serviceRevisionArn": revision_arn(store, express.service, deployment),
        **{k: settings.get(k) for k in express_services.SETTINGS},
        "ingressPaths": [{"accessType": "PUBLIC",
                          "endpoint": express_services.endpoint(store, host, express.service)}],
        "createdAt": deployment.created_at,
    }


def _status(item) -> dict:
    return {"statusCode": item.status, "statusReason": _REASONS.get(item.status)}
