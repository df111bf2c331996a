"""ECS Exec: ExecuteCommand's session, served as Session Manager serves it.

`aws ecs execute-command` calls ExecuteCommand, then starts AWS's session-manager-plugin with the
session it answered (sessionId, streamUrl, tokenValue). The plugin opens the streamUrl, a
WebSocket, and speaks the Session Manager data-channel protocol over it. Here:

  messages.py   the binary ClientMessage codec and the payloads carried in it
  websocket.py  the server side of RFC 6455, on a socket taken over from our HTTP server
  sessions.py   the sessions ExecuteCommand opened, until the plugin connects (and while it is)
  channel.py    one data channel: token, handshake, sequence numbers, acknowledgements, close
  docker_exec.py  the other end: a `docker exec` of the command with a TTY
  session_logs.py the cluster's executeCommandConfiguration: the output into CloudWatch Logs, S3
  service.py    a connection to its session, its command, its logs
  routes.py     GET /v1/data-channel/<session id>, the streamUrl
"""
