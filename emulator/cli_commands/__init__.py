"""The CLI's client commands (everything but `serve`): they reach a running emulator over HTTP.

- connection.py: endpoint, region, credentials, boto3 clients, the control endpoint
- parsers.py, everyday.py: status, ps, logs, exec, reset, spot-interrupt
- tasks.py, logs.py, docker_access.py: finding tasks, their output, their containers
- output.py: progress lines and tables
- serve_logging.py: what `serve` prints (one line per API call and per task state change)

The ECS CLI's words (configure, up, down, compose) live in emulator/ecscli/.
"""
