"""ECR's registry host names, spelled in this one place: <account>.dkr.ecr[-fips].<region>. and
then AWS's domain (ECR_REGISTRY: how images and upstream registries name one) or, for a request's
Host, any domain and a port (a name the user points at this emulator: names.py's).

A module of its own, with no imports: the browser rules and the task definitions' ECR check read
it at start-up, which need none of what names.py brings (its errors, its patterns).
"""

ECR_HOST_START = r"(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\."
# A pattern (not compiled: callers embed it): the account and region are groups 1 and 2.
ECR_REGISTRY = ECR_HOST_START + r"amazonaws\.com(?:\.cn)?"
