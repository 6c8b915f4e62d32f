"""``june users add|list|remove`` and ``june keys create|list|revoke``: accounts, directly.

Like ``june docs``, these work on the database itself (``JUNE_DATABASE_URL``,
or the embedded server that ``june up`` starts), so the first account can be
made before anyone can log in; the schema is migrated first (idempotent).

``june keys create`` prints only the new key on standard output, so
``KEY=$(june keys create ci)`` works; everything else it says goes to standard
error. Without ``--user`` a key is for the only admin: with no admin or
several, ``--user`` must say whose key it is (the command will not guess who a
key acts for).

Exit codes: 0 done, 1 failed (the name exists, no such user or key, a short
password, PostgreSQL down), 2 a wrong command line.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from june.cli.common import JsonOpt, cli_settings, fail

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from june.gateway.auth.accounts import Account, KeyInfo

users_app = typer.Typer(
    help="Accounts that can log in to June (the web app, the API).", no_args_is_help=True
)
keys_app = typer.Typer(
    help="API keys: bearer tokens for scripts, acting as a user.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="The user's name (what they log in with).")]
KeyUserOpt = Annotated[
    str | None, typer.Option("--user", help="Whose key (default: the only admin).")
]
#: The minimum, repeated here so ``june --help`` does not import argon2.
MIN_PASSWORD_LENGTH = 8


@contextmanager
def _database() -> Iterator[Engine]:
    """The migrated engine, or a one-line error and exit 1 when PostgreSQL cannot be reached."""
    from sqlalchemy.exc import OperationalError

    from june.inference.documents.database import engine_from_settings, unavailable
    from june.inference.documents.errors import DatabaseUnavailableError

    try:
        engine = engine_from_settings(cli_settings())
    except DatabaseUnavailableError as exc:
        raise fail(str(exc), 1) from None
    try:
        yield engine
    except OperationalError as exc:  # the server went away mid-command
        url = engine.url.render_as_string(hide_password=True)
        typer.echo(f"error: {unavailable(url, exc.orig)}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


def _read_password(from_stdin: bool) -> str:
    """One line of standard input, or typed twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise fail("--password-stdin: standard input is empty", 1)
        password = line.rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise fail(f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters", 1)
    return password


def _account_json(account: Account) -> dict[str, Any]:
    return {
        "id": str(account.id),
        "name": account.name,
        "is_admin": account.is_admin,
        "can_log_in": account.has_password,
        "api_keys": account.api_keys,
        "created_at": account.created_at.isoformat(),
    }


def _key_json(info: KeyInfo) -> dict[str, Any]:
    return {
        "id": str(info.id),
        "user": info.user_name,
        "name": info.name,
        "prefix": info.prefix,
        "created_at": info.created_at.isoformat(),
        "last_used_at": info.last_used_at.isoformat() if info.last_used_at else None,
        "revoked": info.revoked,
    }


# --- users -----------------------------------------------------------------------------


@users_app.command("add")
def add_user(
    name: NameArg,
    admin: Annotated[bool, typer.Option("--admin", help="May administer June.")] = False,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from one line of stdin."),
    ] = False,
) -> None:
    """Add user NAME with a password (asked twice, hidden; or --password-stdin)."""
    from june.gateway.auth.accounts import AccountError, add_account, clean_name

    try:
        clean_name(name)
    except AccountError as exc:
        raise fail(exc.message, 2) from None
    password = _read_password(password_stdin)
    with _database() as engine:
        try:
            account = add_account(engine, name, password, admin=admin)
        except AccountError as exc:
            hint = "; pick another name, or `june users remove` it first"
            raise fail(exc.message + (hint if exc.code == "exists" else ""), 1) from None
    role = "admin" if account.is_admin else "user"
    typer.echo(f"added {role} {account.name} ({account.id})", err=True)


@users_app.command("list")
def list_users(as_json: JsonOpt = False) -> None:
    """List every user: admins first, whether they can log in, how many live keys."""
    from june.gateway.auth.accounts import list_accounts

    with _database() as engine:
        accounts = list_accounts(engine)
    if as_json:
        typer.echo(json.dumps([_account_json(a) for a in accounts], indent=2))
        return
    if not accounts:
        typer.echo("no users yet; add one with `june users add NAME --admin`", err=True)
        return
    for account in accounts:
        role = "admin" if account.is_admin else "user"
        login = "" if account.has_password else "  (no password: cannot log in)"
        keys = f"{account.api_keys} key{'s' if account.api_keys != 1 else ''}"
        added = account.created_at.strftime("%Y-%m-%d")
        typer.echo(f"{account.name:<24} {role:<5}  {keys:>7}  {added}{login}")


@users_app.command("remove")
def remove_user(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove user NAME with everything of theirs: keys, conversations, documents."""
    from june.gateway.auth.accounts import AccountError, find_account, remove_account

    with _database() as engine:
        try:
            account = find_account(engine, name)
        except AccountError as exc:
            raise fail(exc.message, 2) from None
        if account is None:
            raise fail(f"no user named {name!r}; `june users list` shows them", 1)
        if not yes:
            typer.confirm(
                f"Remove {account.name} and all their keys, conversations and documents?",
                abort=True,
                err=True,
            )
        remove_account(engine, account.name)
    typer.echo(f"removed {account.name}", err=True)


# --- keys ------------------------------------------------------------------------------


def _key_user(engine: Engine, user: str | None) -> Account:
    """The account named ``user``, or the only admin when ``user`` is None."""
    from june.gateway.auth.accounts import AccountError, find_account, list_accounts

    if user is not None:
        try:
            account = find_account(engine, user)
        except AccountError as exc:
            raise fail(exc.message, 2) from None
        if account is None:
            raise fail(f"no user named {user!r}; add one with `june users add {user}`", 1)
        return account
    admins = [a for a in list_accounts(engine) if a.is_admin]
    if len(admins) == 1:
        return admins[0]
    if not admins:
        raise fail("there is no admin to own the key; say whose it is with --user NAME", 1)
    names = ", ".join(a.name for a in admins)
    raise fail(f"there are several admins ({names}); say whose key it is with --user NAME", 1)


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'ci'.")],
    user: KeyUserOpt = None,
) -> None:
    """Make an API key and print it (only it, on stdout): it is shown this once."""
    from june.gateway.auth.accounts import AccountError
    from june.gateway.auth.accounts import create_key as make_key

    with _database() as engine:
        account = _key_user(engine, user)
        try:
            key, info = make_key(engine, account.id, name)
        except AccountError as exc:
            hint = "; revoke it first or pick another name" if exc.code == "exists" else ""
            raise fail(f"{exc.message} for {account.name}{hint}", 1) from None
    typer.echo(key)
    typer.echo(f"created key {info.name} ({info.prefix}…) for {account.name}", err=True)


@keys_app.command("list")
def list_keys(
    user: Annotated[
        str | None, typer.Option("--user", help="Only this user's keys (default: everyone's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List API keys (names and prefixes; the keys themselves are not kept)."""
    from june.gateway.auth.accounts import list_keys as all_keys

    with _database() as engine:
        user_id: uuid.UUID | None = _key_user(engine, user).id if user is not None else None
        infos = all_keys(engine, user_id)
    if as_json:
        typer.echo(json.dumps([_key_json(i) for i in infos], indent=2))
        return
    if not infos:
        typer.echo("no API keys; make one with `june keys create NAME`", err=True)
        return
    for info in infos:
        state = "revoked" if info.revoked else "live"
        typer.echo(
            f"{info.user_name:<20} {info.name:<20} {info.prefix}…  {state:<7}  "
            f"created {_when(info.created_at)}  last used {_when(info.last_used_at)}"
        )


@keys_app.command("revoke")
def revoke_key(
    name: Annotated[str, typer.Argument(help="The key's name (see `june keys list`).")],
    user: Annotated[
        str | None, typer.Option("--user", help="Whose key, when several users have one so named.")
    ] = None,
) -> None:
    """Revoke the live API key NAME: requests with it are refused from now on."""
    from june.gateway.auth.accounts import list_keys as all_keys
    from june.gateway.auth.accounts import revoke_key as revoke

    with _database() as engine:
        user_id = _key_user(engine, user).id if user is not None else None
        matches = [k for k in all_keys(engine, user_id, include_revoked=False) if k.name == name]
        if not matches:
            whose = f" of {user}" if user else ""
            raise fail(f"no live key named {name!r}{whose}; `june keys list` shows them", 1)
        if len(matches) > 1:
            owners = ", ".join(k.user_name for k in matches)
            raise fail(f"several users have a key named {name!r} ({owners}); add --user", 1)
        revoke(engine, matches[0].id)
    typer.echo(f"revoked key {name} of {matches[0].user_name}", err=True)
