"""Every service process for real: ``python -m june serve NAME`` on free ports.

Each one must answer the standard gRPC health check (gRPC services), serve
``/health`` and ``/metrics``, log JSON lines on stdout, and exit 0 soon after
SIGTERM; a taken port or a missing model must give exit code 2 and a clear
message. The shared pieces (interceptor, metrics server, logging) are also
tested in-process.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc

from june.observability import (
    bind_request_id,
    configure_logging,
    current_request_id,
    request_context,
    start_metrics_server,
)
from june.protos import GRPC_SERVICE_NAMES, asr_pb2, asr_pb2_grpc
from june.services.errors import PortSpec
from june.services.grpc_server import GrpcServer
from june.settings import load_settings
from tests.processes import (
    GRPC_SERVICES,
    HANG_TIMEOUT_S,
    STOP_TIMEOUT_S,
    Running,
    free_port,
    gateway_token,
    launch,
    run_to_exit,
    service_env,
    wait_healthy,
)

#: What each service answers to an empty request on its first method: the services not
#: built yet answer a clear UNIMPLEMENTED; a built one refuses the empty input by name.
EMPTY_CALL = {
    "stt": (grpc.StatusCode.INVALID_ARGUMENT, "the audio is empty"),
    "tts": (grpc.StatusCode.INVALID_ARGUMENT, "the text is empty"),
    "inference": (grpc.StatusCode.INVALID_ARGUMENT, "user_id is required"),
}


@pytest.fixture
def run_service(tmp_path: Path, model_cache: Path) -> Iterator[Any]:
    started: list[Running] = []

    def run(name: str, **extra_env: str) -> Running:
        running = launch(name, service_env(tmp_path, model_cache, **extra_env), tmp_path)
        started.append(running)
        return running

    yield run
    for running in started:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait()


# --- every service, for real ---------------------------------------------------------


@pytest.mark.parametrize("name", ["stt", "tts", "inference", "gateway", "telegram"])
def test_service_is_healthy_serves_metrics_and_stops_on_sigterm(
    name: str, run_service, tmp_path: Path
) -> None:
    running = run_service(name)
    health = wait_healthy(running)
    assert health["status"] == "ok" and health["service"] == name
    if name == "telegram":
        assert health["bot"] == "disabled: set JUNE_TELEGRAM_BOT_TOKEN"

    request_id = f"test-{name}-42"
    if name in GRPC_SERVICES:
        full_name = GRPC_SERVICE_NAMES[GRPC_SERVICES[name]]  # type: ignore[index]
        with grpc.insecure_channel(f"127.0.0.1:{running.ports.grpc}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for service in ("", full_name):
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
            with pytest.raises(grpc.RpcError) as unknown:
                stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
            # The servicer is registered: a clear status, never "unknown service".
            method = next(iter(_descriptor(name).methods))
            expected_code, expected_text = EMPTY_CALL[name]
            with pytest.raises(grpc.RpcError) as refused:
                channel.unary_unary(f"/{full_name}/{method.name}")(
                    b"", metadata=[("x-request-id", request_id)], timeout=5
                )
            assert refused.value.code() == expected_code
            assert expected_text in refused.value.details()
    else:
        response = httpx.get(f"{running.base_url}/health", headers={"X-Request-ID": request_id})
        if name == "gateway":
            assert response.headers["x-request-id"] == request_id

    headers = {}
    if name == "gateway":  # the gateway's /metrics wants a token, like all but /health
        assert httpx.get(f"{running.base_url}/metrics", timeout=5).status_code == 401
        headers = {"Authorization": f"Bearer {gateway_token(tmp_path / 'data')}"}
    metrics = httpx.get(f"{running.base_url}/metrics", headers=headers, timeout=5)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE process_cpu_seconds_total counter" in metrics.text
    if name != "gateway":
        assert f'june_build_info{{service="{name}",version=' in metrics.text
        assert f'june_service_ready{{service="{name}"}} 1.0' in metrics.text
    if name in GRPC_SERVICES:
        assert 'grpc_method="Check",grpc_service="grpc.health.v1.Health"' in metrics.text
        assert f'grpc_code="{EMPTY_CALL[name][0].name}"' in metrics.text

    running.proc.send_signal(signal.SIGTERM)
    # The timeout only guards against a hang: SIGTERM must end the service, cleanly.
    assert running.proc.wait(timeout=HANG_TIMEOUT_S) == 0

    events = [json.loads(line) for line in running.log_lines()]  # every line is JSON
    assert events and all(e["service"] == name for e in events)
    assert all({"timestamp", "level", "event"} <= e.keys() for e in events)
    names = [e["event"] for e in events]
    # a graceful stop, because of the signal: not a crash, not a forced exit
    stopping = [e for e in events if e["event"] == "service.stopping"]
    assert [e["signal"] for e in stopping] == ["SIGTERM"]
    assert names.index("service.ready") < names.index("service.stopping")
    assert names[-1] == "service.stopped" and "service.forced_exit" not in names
    if name in GRPC_SERVICES:
        code = EMPTY_CALL[name][0].name
        failed = [e for e in events if e["event"] == "grpc.call_failed" and e["code"] == code]
        assert failed
        assert failed[0]["request_id"] == request_id


def _descriptor(name: str) -> Any:
    from june import protos

    pb2, _ = protos.load(GRPC_SERVICES[name])  # type: ignore[arg-type]
    (service,) = pb2.DESCRIPTOR.services_by_name.values()
    return service


def test_grpc_health_turns_not_serving_on_shutdown(run_service) -> None:
    running = run_service("stt")
    wait_healthy(running)
    with grpc.insecure_channel(f"127.0.0.1:{running.ports.grpc}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=STOP_TIMEOUT_S
        )
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        running.proc.send_signal(signal.SIGTERM)
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
    assert running.proc.wait(timeout=STOP_TIMEOUT_S) == 0


def test_health_reports_starting_then_unavailable_with_503() -> None:
    state = {"status": "starting", "service": "x"}
    server = start_metrics_server("127.0.0.1", 0, lambda: dict(state))
    try:
        url = f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{url}/health").status_code == 503
        state["status"] = "ok"
        assert httpx.get(f"{url}/health").json() == {"status": "ok", "service": "x"}
        state["status"] = "unavailable"
        assert httpx.get(f"{url}/health").status_code == 503
        assert httpx.get(f"{url}/nope").status_code == 404
    finally:
        server.stop()

    def broken() -> dict[str, Any]:
        raise RuntimeError("database gone")

    server = start_metrics_server("127.0.0.1", 0, broken)
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/health")
        assert response.status_code == 503 and "database gone" in response.json()["error"]
    finally:
        server.stop()


# --- start-up problems: exit 2 with a clear message ------------------------------------


@pytest.mark.parametrize(
    ("name", "variable", "what"),
    [
        ("stt", "JUNE_STT_PORT", "stt gRPC"),
        ("stt", "JUNE_STT_METRICS_PORT", "stt metrics"),
        ("inference", "JUNE_INFERENCE_PORT", "inference gRPC"),
        ("gateway", "JUNE_GATEWAY_PORT", "gateway HTTP"),
        ("telegram", "JUNE_TELEGRAM_METRICS_PORT", "telegram metrics"),
    ],
)
def test_port_in_use_exits_2_with_a_clear_message(
    name: str, variable: str, what: str, tmp_path: Path, model_cache: Path
) -> None:
    env = service_env(tmp_path, model_cache, JUNE_INFERENCE_LLM_URL="http://127.0.0.1:9/v1")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env[variable])))
        squatter.listen()
        code, stderr = run_to_exit(name, env, tmp_path)
    assert code == 2, stderr
    port = env[variable]
    assert (
        f"port {port} ({what}) is already in use; is another June running? "
        f"Set {variable} to use another"
    ) in stderr
    assert "Traceback" not in stderr


def test_missing_model_exits_2_naming_it_and_the_install_command(
    tmp_path: Path, model_cache: Path
) -> None:
    env = service_env(tmp_path, model_cache, JUNE_STT_MODEL="whisper-large-v3")
    code, stderr = run_to_exit("stt", env, tmp_path)
    assert code == 2, stderr
    assert "whisper-large-v3" in stderr and "june models --model whisper-large-v3" in stderr
    assert "Traceback" not in stderr


def test_unknown_model_exits_2(tmp_path: Path, model_cache: Path) -> None:
    env = service_env(tmp_path, model_cache, JUNE_TTS_VOICE="my-own-voice")
    code, stderr = run_to_exit("tts", env, tmp_path)
    assert code == 2, stderr
    assert "my-own-voice" in stderr and "Traceback" not in stderr


def test_inference_with_an_llm_server_needs_no_local_llm(run_service) -> None:
    running = run_service(
        "inference",
        JUNE_INFERENCE_LLM_URL="http://127.0.0.1:9/v1",
        JUNE_INFERENCE_LLM_MODEL="qwen3-30b-a3b-thinking-2507",  # not installed: not needed
    )
    assert wait_healthy(running)["status"] == "ok"
    assert running.stop() == 0


def test_bad_log_level_exits_2(tmp_path: Path, model_cache: Path) -> None:
    env = service_env(tmp_path, model_cache, JUNE_LOG_LEVEL="loud")
    code, stderr = run_to_exit("telegram", env, tmp_path)
    assert code == 2 and "unknown log level 'loud'" in stderr


# --- the shared pieces, in-process ------------------------------------------------------


def test_logging_is_json_with_service_and_request_id() -> None:
    stream = io.StringIO()
    saved = (list(logging.getLogger().handlers), logging.getLogger().level)
    configure_logging(load_settings(log_level="info"), "stt", stream=stream)
    try:
        with request_context("turn-1") as request_id:
            assert request_id == "turn-1" and current_request_id() == "turn-1"
            structlog.get_logger("t").info("heard", words=3)
            logging.getLogger("some.library").warning("via %s", "stdlib")
        assert current_request_id() is None
        structlog.get_logger("t").debug("too quiet")
        generated = bind_request_id()
        assert len(generated) == 32 and current_request_id() == generated
        structlog.contextvars.clear_contextvars()
    finally:  # leave the test process's logging as it was
        root = logging.getLogger()
        root.handlers, root.level = saved
        structlog.reset_defaults()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["heard", "via stdlib"]
    assert all(line["service"] == "stt" and line["request_id"] == "turn-1" for line in lines)
    assert lines[0]["level"] == "info" and lines[0]["words"] == 3
    assert lines[1]["level"] == "warning" and lines[1]["logger"] == "some.library"
    assert lines[0]["timestamp"].endswith("Z")


async def test_grpc_server_binds_request_id_and_counts_calls() -> None:
    seen: list[str | None] = []

    class Recognizer(asr_pb2_grpc.RecognizerServicer):
        async def Recognize(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
            seen.append(current_request_id())
            return asr_pb2.RecognizeResponse(transcript=asr_pb2.Transcript(text="ok"))

        async def RecognizeStream(self, request_iterator: Any, context: Any) -> Any:
            async for _ in request_iterator:
                seen.append(current_request_id())
                yield asr_pb2.RecognizeStreamResponse(partial=asr_pb2.PartialTranscript(text="p"))

    port = free_port()
    server = GrpcServer(
        PortSpec("127.0.0.1", port, "test gRPC", "JUNE_TEST_PORT"),
        [GRPC_SERVICE_NAMES["asr"]],
        lambda s: asr_pb2_grpc.add_RecognizerServicer_to_server(Recognizer(), s),
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = asr_pb2_grpc.RecognizerStub(channel)
            reply = await stub.Recognize(
                asr_pb2.RecognizeRequest(), metadata=[("x-request-id", "abc")]
            )
            assert reply.transcript.text == "ok"
            await stub.Recognize(asr_pb2.RecognizeRequest())
            requests = [asr_pb2.RecognizeStreamRequest(audio=b"\0\0")] * 2
            call = stub.RecognizeStream(iter(requests), metadata=[("x-request-id", "s1")])
            assert [r.partial.text async for r in call] == ["p", "p"]
    finally:
        await server.stop(grace_s=1)
    assert seen[0] == "abc"
    assert seen[1] is not None and len(seen[1]) == 32  # generated when the client sent none
    assert seen[2:] == ["s1", "s1"]
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(
        "june_grpc_server_handled_total",
        {"grpc_service": "june.asr.v1.Recognizer", "grpc_method": "Recognize", "grpc_code": "OK"},
    )
    assert value is not None and value >= 2
