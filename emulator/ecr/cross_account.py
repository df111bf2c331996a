"""Whether one account may make an ECR API call on another account's registry, as ECR decides it:
only where a resource-based policy of that registry grants the action to the caller's account.

- A call on a repository (BatchGetImage, DeleteRepository, SetRepositoryPolicy...) needs
  `ecr:<Operation>` granted by that repository's policy, or by the registry policy when the
  registry's REGISTRY_POLICY_SCOPE is V2 (ECR's default: the registry policy then counts in
  every ECR request). A repository that does not exist is refused the same way unless a grant
  covers it, so another account cannot learn which names exist.
- A call on the registry itself (CreateRepository, the pull through cache rules, replication
  backfills) has no repository policy to grant it: only the registry policy can (V2; under V1,
  CreateRepository alone, the one such action V1 enforces).
The registry (docker pull and push with another account's token: hooks.py) asks the same
question. The caller's own IAM policies are checked before, by the router (emulator/access/),
when IAM is enforced. Grants are read as policies.allows reads them: for the caller's whole
account, with conditions read to refuse; a Deny in either policy wins.
"""

from __future__ import annotations

from emulator.ecr import account_settings, arns, policies

# Registry-level actions a V1 registry policy still grants (ECR's user guide, "Private registry
# permissions": ReplicateImage and BatchImportUpstreamImage are ECR's own, not API calls).
_V1_REGISTRY_ACTIONS = {"ecr:CreateRepository"}


def grants(store, caller_account: str, actions: tuple[str, ...],
           repository_name: str | None, makes: str | None = None) -> bool:
    """Whether `store`'s registry lets `caller_account` do any of `actions` (on the repository
    of that name; None for a registry-level call, which `makes` the repository of that name
    where it is CreateRepository): some policy allows it and none denies it. A statement counts
    only where its Resource covers the repository (the one made, for CreateRepository); for
    the other registry-level calls, which are on no repository, only a Resource of "*" does.
    The API asks for its one action; the registry (hooks.py) for the actions that stand for a
    pull or a push."""
    if caller_account == store.account:
        return True
    named = repository_name or makes
    resource = arns.repository(store.account, store.region, named) if named else "*"
    said = []
    if repository_name is not None:
        repository = store.repositories.get(repository_name)
        if repository is not None:
            said.append(policies.decision(repository.policy, caller_account, actions, resource))
    if account_settings.get(store, "REGISTRY_POLICY_SCOPE") != "V2":
        actions = tuple(a for a in actions if a in _V1_REGISTRY_ACTIONS)
    if actions:
        said.append(policies.decision(store.registry_policy, caller_account, actions, resource))
    return True in said and False not in said
