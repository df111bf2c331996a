"""The dashboard at /_emulator/ui/: routes.py serves the page (static/: plain HTML, CSS and
JavaScript, no build step, nothing fetched from elsewhere) and the reads it polls (summary.py,
task_output.py). The page itself talks to the ECS, ECR and Logs APIs as any client does."""
