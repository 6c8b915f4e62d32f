"""A user's stored conversations: list, read (with messages and their timings), rename, delete.

Conversations are written by the inference service during chat and voice
turns; these routes read them back for the web app and API clients. Another
user's conversation answers 404 exactly like one that does not exist, never
403, so ids cannot be probed. Times are ISO 8601 with their UTC offset.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from june.gateway.auth import Principal, rate_limited
from june.gateway.context import GatewayContext, get_context
from june.gateway.errors import ApiError, bad_request, not_found
from june.gateway.history import (
    MAX_PAGE,
    ConversationNotFoundError,
    Page,
    delete_conversation,
    get_conversation,
    list_conversations,
    list_messages,
    rename_conversation,
)
from june.inference.documents.database import unavailable

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

T = TypeVar("T")


async def _query(ctx: GatewayContext, work: Callable[..., T], *args: Any) -> T:
    """Run a blocking history query in a worker thread; an unknown id is 404, and
    PostgreSQL going away mid-request is 503 naming it."""
    engine = await ctx.engine()
    try:
        return await asyncio.to_thread(work, engine, *args)
    except ConversationNotFoundError as exc:
        raise not_found(str(exc)) from None
    except OperationalError as exc:
        url = engine.url.render_as_string(hide_password=True)
        raise ApiError(503, "unavailable", str(unavailable(url, exc.orig))) from None


def _owner(principal: Principal) -> uuid.UUID:
    return uuid.UUID(principal.user_id)


def _page(page: Page) -> dict[str, Any]:
    last = page.items[-1]["id"] if page.items and page.has_more else None
    return {"object": "list", "data": page.items, "has_more": page.has_more, "next_before": last}


@router.get("")
async def conversations(
    limit: int = Query(20, ge=1, le=MAX_PAGE),
    before: str | None = Query(None, description="Continue after this conversation id."),
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> dict[str, Any]:
    """The user's conversations, most recently active first."""
    page = await _query(ctx, list_conversations, _owner(principal), limit, before)
    return _page(page)


@router.get("/{conversation_id}")
async def conversation(
    conversation_id: str,
    limit: int = Query(100, ge=1, le=MAX_PAGE, description="The last N messages."),
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> dict[str, Any]:
    """One conversation with its last ``limit`` messages, oldest first."""
    owner = _owner(principal)
    found = await _query(ctx, get_conversation, owner, conversation_id)
    page = await _query(ctx, list_messages, owner, conversation_id, limit, None)
    return {**found, "messages": page.items, "has_more_messages": page.has_more}


@router.get("/{conversation_id}/messages")
async def messages(
    conversation_id: str,
    limit: int = Query(100, ge=1, le=MAX_PAGE),
    before: str | None = Query(None, description="The page before this message id."),
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> dict[str, Any]:
    """Messages oldest first; ``next_before`` pages further back."""
    page = await _query(ctx, list_messages, _owner(principal), conversation_id, limit, before)
    first = page.items[0]["id"] if page.items and page.has_more else None
    return {"object": "list", "data": page.items, "has_more": page.has_more, "next_before": first}


class Rename(BaseModel):
    title: str = Field(min_length=1, max_length=500)


@router.patch("/{conversation_id}")
async def rename(
    conversation_id: str,
    body: Rename,
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> dict[str, Any]:
    """Give the conversation a title of the user's own."""
    title = body.title.strip()
    if not title:
        raise bad_request("title is empty")
    return await _query(ctx, rename_conversation, _owner(principal), conversation_id, title)


@router.delete("/{conversation_id}", status_code=204)
async def delete(
    conversation_id: str,
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> Response:
    """Delete the conversation and all its messages."""
    await _query(ctx, delete_conversation, _owner(principal), conversation_id)
    return Response(status_code=204)
