"""``create_chat_model(settings)``: the backend the settings ask for.

``JUNE_INFERENCE_LLM_URL`` set: an OpenAI-compatible server (nothing is loaded
here; an unreachable server shows on the first request as
BackendUnavailableError). Unset: llama.cpp in-process with the GGUF of
``JUNE_INFERENCE_LLM_MODEL`` from the model cache (the bundled Gemma 3 270M
is assembled there on first use), loaded now — about half a second.
"""

from __future__ import annotations

from june.inference.llm.base import ChatModel, GenerationOptions
from june.settings import Settings


def create_chat_model(settings: Settings) -> ChatModel:
    """A ChatModel for ``settings``; the caller keeps it for the life of the process."""
    config = settings.inference
    if config.llm_url:
        from june.inference.llm.openai_compat import OpenAICompatModel

        return OpenAICompatModel(
            config.llm_url,
            model=config.llm_remote_model,
            api_key=config.llm_api_key,
            context_window=config.llm_context_size,
            native_tools=config.llm_native_tools,
            starts_in_thinking=config.llm_starts_in_thinking,
            timeout_s=config.llm_request_timeout_s,
        )
    from june.inference.llm.llama_cpp import LlamaCppModel
    from june.models.resolve import resolve_model

    path = resolve_model(settings, config.llm_model, "llm")
    return LlamaCppModel.load(
        path,
        name=config.llm_model,
        n_ctx=config.llm_context_size,
        n_threads=config.llm_threads,
        prompt_format=config.llm_prompt_format,
        cpu_repack=config.llm_cpu_repack,
    )


def default_options(settings: Settings) -> GenerationOptions:
    """Generation options from the settings (max tokens, temperature, top-p)."""
    config = settings.inference
    return GenerationOptions(
        max_tokens=config.llm_max_tokens,
        temperature=config.llm_temperature,
        top_p=config.llm_top_p,
    )
