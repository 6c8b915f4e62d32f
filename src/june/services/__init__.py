"""What every service process shares: the gRPC server, the runner, start-up errors.

- :class:`~june.services.grpc_server.GrpcServer`: ``grpc.aio`` + health + request ids + metrics.
- :class:`~june.services.grpc_server.GrpcService`: a gRPC service process for the runner.
- :func:`~june.services.runner.run_service`: logs, traces, models, ``/metrics`` + ``/health``,
  serve until SIGTERM/SIGINT, stop gracefully.
"""

from june.services.errors import (
    EXIT_CONFIG_ERROR,
    PortInUseError,
    PortSpec,
    StartupError,
    bind_socket,
)
from june.services.grpc_server import GrpcServer, GrpcService, unimplemented_servicer
from june.services.runner import Service, run_service

__all__ = [
    "EXIT_CONFIG_ERROR",
    "GrpcServer",
    "GrpcService",
    "PortInUseError",
    "PortSpec",
    "Service",
    "StartupError",
    "bind_socket",
    "run_service",
    "unimplemented_servicer",
]
