"""``june chat``: talk to a running June from the terminal, by text or with an audio file.

It is a client of the gateway like the web app: the realtime WebSocket
(``docs/realtime.md``), authenticated with an API key (``--api-key`` or
``JUNE_API_KEY``) or a login (``--user``, password asked or read with
``--password-stdin``).

- Text (the default): a prompt loop; the answer is printed as it is written.
  The whole session is one conversation (``--conversation ID`` resumes one,
  ``/new`` starts another, Ctrl-D ends). Standard input may be a pipe: one
  message per line (after the password line with ``--password-stdin``), so
  scripts and tests can chat; ``--json`` prints one JSON object per answer.
  A failed turn is reported and the loop goes on; the exit status is 1 if
  any turn failed.
- ``--audio FILE``: one voice turn. The file (any format PyAV reads) is
  decoded to 16 kHz mono and sent as pcm16 as fast as the socket takes it —
  a recording is not paced like a microphone — then committed. Prints
  ``you: …`` and ``june: …``; ``--out reply.wav`` keeps the spoken answer.

Exit codes: 0 done, 1 June refused or failed (gateway down, bad token, a stage
error, nothing heard), 2 a wrong command line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from june.cli.common import JsonOpt, cli_settings, fail

if TYPE_CHECKING:
    from june.client import Event, RealtimeClient, TurnResult

UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="The gateway (default: the configured http://HOST:PORT)."),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", envvar="JUNE_API_KEY", help="An API key (`june keys create`)."),
]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="Log in as this user instead of using an API key.")
]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="With --user: read the password from stdin.")
]


def gateway_url(url: str | None) -> str:
    from june.client.rest import base_url, local_gateway_url

    if url:
        return base_url(url)
    settings = cli_settings()
    return local_gateway_url(settings.host, settings.gateway.port)


async def credentials(url: str, api_key: str | None, user: str | None, password_stdin: bool) -> str:
    """The bearer token: the API key, or an access token from logging in as ``user``."""
    from june.client import GatewayUnavailable, is_up, login

    if not await is_up(url):
        raise GatewayUnavailable(url)
    if user:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = await asyncio.to_thread(typer.prompt, "password", hide_input=True)
        return await login(url, user, password)
    if api_key:
        return api_key
    raise fail("give an API key (--api-key or JUNE_API_KEY) or log in with --user NAME", 2)


def chat(
    audio: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, readable=True, help="One voice turn."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="With --audio: write the spoken answer here (WAV).")
    ] = None,
    conversation: Annotated[
        str, typer.Option("--conversation", help="Resume this conversation (its id).")
    ] = "",
    max_tokens: Annotated[
        int, typer.Option(min=0, help="Longest answer in tokens (0: the server's default).")
    ] = 0,
    url: UrlOpt = None,
    api_key: ApiKeyOpt = None,
    user: UserOpt = None,
    password_stdin: PasswordStdinOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Talk to June: type messages (answers stream in), or send one recording with --audio."""
    from june.client import ClientError

    if out is not None and audio is None:
        raise fail("--out needs --audio (a text chat has no single reply to write)", 2)
    target = gateway_url(url)

    async def run() -> int:
        token = await credentials(target, api_key, user, password_stdin)
        if audio is not None:
            return await _voice(target, token, audio, out, conversation, max_tokens, as_json)
        return await _text_loop(target, token, conversation, max_tokens, as_json)

    try:
        code = asyncio.run(run())
    except ClientError as exc:
        raise fail(str(exc), 1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise typer.Exit(code)


async def _voice(
    url: str,
    token: str,
    audio: Path,
    out: Path | None,
    conversation: str,
    max_tokens: int,
    as_json: bool,
) -> int:
    from june.audio import AudioError, decode_file, is_silent
    from june.client import RealtimeClient, pcm16, voice_turn

    try:
        pcm = await asyncio.to_thread(decode_file, audio)
    except AudioError as exc:
        raise fail(f"{audio}: {exc}", 1) from None
    if is_silent(pcm):
        raise fail(f"{audio} is silent: there is nothing to answer", 1)
    async with RealtimeClient(url, token, conversation_id=conversation) as client:
        await client.update(
            input={"format": "pcm16", "sample_rate": 16_000, "channels": 1},
            output={"format": "pcm16"},
            vad=False,  # the recording ends where the file ends: commit says so
            max_tokens=max_tokens or None,
        )
        result = await voice_turn(client, pcm16(pcm), pace=0.0, commit=True)
    if out is not None and result.audio:
        out.write_bytes(result.wav())
    for error in result.errors:
        typer.echo(f"error: {error}", err=True)
    if as_json:
        typer.echo(json.dumps(_turn_json(result, out), indent=2, ensure_ascii=False))
    else:
        typer.echo(f"you: {result.transcript}")
        typer.echo(f"june: {result.answer}")
        if out is not None and result.audio:
            seconds = len(result.audio) / 2 / (result.sample_rate or 1)
            typer.echo(f"wrote {out} ({seconds:.1f} s of speech)", err=True)
    return 1 if result.errors else 0


def _turn_json(result: TurnResult, out: Path | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "transcript": result.transcript,
        "answer": result.answer,
        "conversation_id": result.conversation_id,
        "message_id": result.message_id,
        "turn_id": result.turn_id,
        "timings": result.timings,
        "client_timings": result.client_timings(),
        "audio": {
            "format": result.audio_format,
            "sample_rate": result.sample_rate,
            "bytes": len(result.audio),
        },
    }
    if out is not None:
        body["audio"]["path"] = str(out)
    if result.errors:
        body["errors"] = [
            {"stage": e.stage, "code": e.code, "message": e.message} for e in result.errors
        ]
    return body


async def _read_line(interactive: bool) -> str | None:
    """The next message, or None at the end of input (Ctrl-D)."""

    def read() -> str | None:
        if interactive:
            try:
                return input("you> ")
            except EOFError:
                return None
        line = sys.stdin.readline()
        return line if line else None

    return await asyncio.to_thread(read)


async def _text_loop(
    url: str, token: str, conversation: str, max_tokens: int, as_json: bool
) -> int:
    from june.client import RealtimeClient, SessionClosed, StageFailed, TurnTimeout, text_turn

    interactive = sys.stdin.isatty() and not as_json
    failed = False

    async def open_session(conversation_id: str) -> RealtimeClient:
        client = RealtimeClient(url, token, conversation_id=conversation_id)
        await client.connect()
        if max_tokens:
            await client.update(max_tokens=max_tokens)
        return client

    client = await open_session(conversation)
    if interactive:
        typer.echo("June is listening. /new starts a new conversation; Ctrl-D ends.", err=True)
    try:
        while (line := await _read_line(interactive)) is not None:
            message = line.strip()
            if not message:
                continue
            if message in ("/new", "/reset"):
                await client.close()
                client = await open_session("")
                typer.echo("(a new conversation)", err=True)
                continue
            if message in ("/quit", "/exit"):
                break
            if client.closed:  # the gateway dropped the socket: resume the same conversation
                client = await open_session(client.conversation_id)
            printer = _DeltaPrinter(enabled=not as_json)
            try:
                result = await text_turn(client, message, on_event=printer)
            except (StageFailed, TurnTimeout, SessionClosed) as exc:
                printer.end()
                typer.echo(f"error: {exc}", err=True)
                failed = True
                continue
            printer.end()
            for error in result.errors:
                typer.echo(f"error: {error}", err=True)
            if as_json:
                body = _turn_json(result)
                body["text"] = message
                typer.echo(json.dumps(body, ensure_ascii=False))
    finally:
        await client.close()
        if client.conversation_id:
            typer.echo(f"conversation {client.conversation_id}", err=True)
    return 1 if failed else 0


class _DeltaPrinter:
    """Prints ``june: `` and then each piece of the answer as it arrives."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = False

    def __call__(self, event: Event) -> None:
        if not self.enabled or event.type != "answer.delta":
            return
        if not self.started:
            sys.stdout.write("june: ")
            self.started = True
        sys.stdout.write(str(event.get("text", "")))
        sys.stdout.flush()

    def end(self) -> None:
        if self.started:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self.started = False
