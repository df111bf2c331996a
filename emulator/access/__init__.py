"""Who may do what: containers stay in their lane.

- callers: who is calling, from the connection's peer address (this host, a task of ours, some
  other container on the emulator's network, or a stranger)
- host_addresses: which addresses and names are this host's (its interfaces', the running
  emulators' Docker Engines' gateways, Docker Desktop's host names)
- gate: the WSGI layer in front of the router that applies each listener's rules (control
  endpoints for this host only; metadata and credentials for their own task only) and refuses
  strangers' connections, unread, on the listeners containers reach (with their idle limits)
- control_token: the secret the control endpoints ask for where containers pass for this host
  (Docker Desktop)
- host_access: what a task may not ask ECS for (privileged containers, host paths, host
  namespaces...) unless the operator allows it
- iam: ECS_EMULATOR_ENFORCE_IAM, every request checked against its caller's IAM policies
  (iam_resources, iam_stacks and iam_stack_actions: which actions on which resources)
- rights: what the router asks before it serves a call (host_access's and iam's checks, on the
  revision launch_pins fixes)
- name_resolution: names a caller chose, resolved in bounded time to few addresses
- browsers, cors: web pages are not callers, but for the origins the operator allowed
"""
