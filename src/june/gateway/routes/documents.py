"""A user's documents for retrieval: upload, list, read, search, delete.

The inference service owns documents (parsing, chunking, embeddings in
pgvector); these routes are its REST face, scoped to the caller. An upload is
streamed to ``IngestDocument`` in chunks as it is read, so the gateway never
holds a large file in memory twice. Text, Markdown, HTML and PDF are accepted
(detected from the name and the bytes); uploading the same content again
returns the document already stored.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import grpc
from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from june.gateway.auth import Principal, rate_limited
from june.gateway.context import GatewayContext, get_context
from june.gateway.errors import ApiError, bad_request, from_grpc, not_found
from june.gateway.upstream import metadata
from june.protos import llm_pb2

router = APIRouter(prefix="/v1/documents", tags=["documents"])

#: Bytes per ``content`` message of an upload.
CHUNK_BYTES = 256 * 1024
MAX_K = 20


def _document(doc: llm_pb2.Document) -> dict[str, Any]:
    return {
        "id": doc.id,
        "object": "document",
        "name": doc.name,
        "mime_type": doc.mime_type,
        "size_bytes": doc.size_bytes,
        "sha256": doc.sha256,
        "chunk_count": doc.chunk_count,
        "created_at": doc.created_at.ToDatetime(tzinfo=UTC).isoformat(),
    }


def _document_id(text: str) -> str:
    """A path id; one that is not a UUID cannot name a document (404, like any unknown id)."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise not_found(f"no document {text!r}") from None


@router.post("", status_code=201)
async def upload(
    file: UploadFile | None = File(None, description="Text, Markdown, HTML or PDF."),
    name: str = Form("", description="The document's name; default: the file's name."),
    mime_type: str = Form("", description="Default: detected from the name and the bytes."),
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> JSONResponse:
    """Store a document for retrieval: parsed, chunked and embedded before this answers."""
    if file is None:
        raise bad_request("the `file` field is missing: upload the document as multipart/form-data")
    title = (name or file.filename or "").strip()
    if not title:
        raise bad_request("the document needs a name: give `name` or a file name")

    async def requests() -> AsyncIterator[llm_pb2.IngestDocumentRequest]:
        yield llm_pb2.IngestDocumentRequest(
            metadata=llm_pb2.DocumentMetadata(
                user_id=principal.user_id,
                name=title,
                mime_type=mime_type.strip(),
                size_bytes=file.size or 0,
            )
        )
        while chunk := await file.read(CHUNK_BYTES):
            yield llm_pb2.IngestDocumentRequest(content=chunk)

    stored: llm_pb2.Document | None = None
    try:
        call = ctx.backends.inference.stub.IngestDocument(
            requests(), timeout=600, metadata=metadata()
        )
        async for event in call:
            if event.WhichOneof("event") == "document":
                stored = event.document
    except grpc.aio.AioRpcError as error:
        raise from_grpc(error, "inference") from None
    if stored is None:
        raise ApiError(502, "backend_error", "the inference service did not store the document")
    return JSONResponse(_document(stored), status_code=201)


@router.get("")
async def documents(
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> dict[str, Any]:
    """The user's documents."""
    docs = await _list(ctx, principal)
    return {"object": "list", "data": [_document(d) for d in docs]}


@router.get("/search")
async def search(
    q: str = Query(..., description="What to look for, in words."),
    k: int = Query(5, ge=1, le=MAX_K, description="How many chunks, best first."),
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> dict[str, Any]:
    """The chunks of the user's documents closest in meaning to ``q`` (cosine, best first)."""
    if not q.strip():
        raise bad_request("q is empty: say what to search for")
    try:
        reply = await ctx.backends.inference.stub.SearchDocuments(
            llm_pb2.SearchDocumentsRequest(user_id=principal.user_id, query=q, k=k),
            timeout=60,
            metadata=metadata(),
        )
    except grpc.aio.AioRpcError as error:
        raise from_grpc(error, "inference") from None
    hits = [
        {
            "document_id": h.document_id,
            "document_name": h.document_name,
            "chunk_id": h.chunk_id,
            "chunk_index": h.chunk_index,
            "score": round(h.score, 4),
            "text": h.text,
        }
        for h in reply.hits
    ]
    return {"object": "list", "query": q, "data": hits}


@router.get("/{document_id}")
async def document(
    document_id: str,
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> dict[str, Any]:
    wanted = _document_id(document_id)
    for doc in await _list(ctx, principal):
        if doc.id == wanted:
            return _document(doc)
    raise not_found(f"no document {document_id!r}")


@router.delete("/{document_id}", status_code=204)
async def delete(
    document_id: str,
    principal: Principal = Depends(rate_limited),
    ctx: GatewayContext = Depends(get_context),
) -> Response:
    """Delete the document and its chunks; another user's id is 404 like an unknown one."""
    request = llm_pb2.RemoveDocumentsRequest(
        user_id=principal.user_id, document_ids=[_document_id(document_id)]
    )
    try:
        await ctx.backends.inference.stub.RemoveDocuments(request, timeout=60, metadata=metadata())
    except grpc.aio.AioRpcError as error:
        raise from_grpc(error, "inference") from None
    return Response(status_code=204)


async def _list(ctx: GatewayContext, principal: Principal) -> list[llm_pb2.Document]:
    try:
        reply = await ctx.backends.inference.stub.ListDocuments(
            llm_pb2.ListDocumentsRequest(user_id=principal.user_id),
            timeout=60,
            metadata=metadata(),
        )
    except grpc.aio.AioRpcError as error:
        raise from_grpc(error, "inference") from None
    return list(reply.documents)
