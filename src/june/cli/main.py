"""Entry point of the ``june`` command: registers every command group."""

from __future__ import annotations

import typer

from june.cli import bench_e2e, chat, check, docs, llm, models, serve, stt, tts, up, users
from june.cli.groups import bench_app, eval_app

app = typer.Typer(
    name="june",
    help="June, a self-hosted voice assistant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

app.command("up")(up.up)
app.command("serve")(serve.serve)
app.command("check")(check.check)
app.command("models")(models.models)
app.command("transcribe")(stt.transcribe)
app.command("say")(tts.say)
app.command("voices")(tts.voices)
app.command("chat")(chat.chat)
app.add_typer(eval_app, name="eval")
app.add_typer(bench_app, name="bench")
app.add_typer(docs.docs_app, name="docs")
app.add_typer(users.users_app, name="users")
app.add_typer(users.keys_app, name="keys")
bench_app.command("llm")(llm.bench_llm)
bench_app.command("e2e")(bench_e2e.bench_e2e)
eval_app.command("rag")(docs.eval_rag)

if __name__ == "__main__":
    app()
