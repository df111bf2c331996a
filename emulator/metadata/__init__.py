"""What a task's containers see of ECS, over HTTP: the task metadata endpoint (v3 and v4) and the
task-role credentials endpoint.

- documents: the metadata documents, built from the task model and Docker's view of a container
- stats: Docker stats as the metadata endpoint serves them (with v4's network rates)
- routes: the Flask blueprint (/v3/..., /v4/..., /v2/credentials/<id>)
- link_local: serving the same app on 169.254.170.2:80, the address the AWS SDKs trust
"""
