"""The gateway (``june serve gateway``): HTTP + WebSocket API, web app, health, metrics."""
