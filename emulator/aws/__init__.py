"""Service-agnostic AWS plumbing: request context, errors, the JSON 1.1 protocol, the router."""
