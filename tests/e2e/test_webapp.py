"""The web app in a real browser (Debian's Chromium, driven by Playwright) against the real
June: the stack's gateway serves ``webapp/dist`` and answers with the real services.

Elements are found by their role and accessible name, as a screen reader would
name them, never by CSS classes. Every page fails its test on an uncaught error
or an ``alert()``. Screenshots of the main screens (desktop and phone, light and
dark) are saved under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.gateway_users import PASSWORD, add_user, auth_header, login
from tests.stack import Stack
from tests.voice_support import LONG_ANSWER

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
XSS = "<img src=x onerror=alert(1)>"
#: The model's answers stream at a few tokens a second here: generous, never the thing tested.
ANSWER_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def built_app() -> Path:
    """The web app, built if its sources changed (what ``scripts/test.sh`` does first)."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "build_webapp.sh")], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    dist = ROOT / "webapp" / "dist"
    assert (dist / "index.html").is_file()
    return dist


@pytest.fixture(scope="module")
async def browser(built_app: Path) -> AsyncIterator[Browser]:
    assert CHROMIUM.exists(), "the browser tests need Debian's chromium: apt-get install chromium"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"],
        )
        yield browser
        await browser.close()


@dataclass
class Tab:
    """A page and what went wrong on it: uncaught errors, alert() dialogs."""

    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @classmethod
    def watching(cls, page: Page) -> Tab:
        tab = cls(page)
        page.on("pageerror", lambda error: tab.errors.append(str(error)))
        page.on("dialog", lambda dialog: tab.dialogs.append(dialog.message))
        return tab

    def assert_clean(self) -> None:
        assert not self.errors, f"uncaught errors on the page: {self.errors}"
        assert not self.dialogs, f"the page opened dialogs: {self.dialogs}"


@pytest.fixture
async def open_tab(browser: Browser) -> AsyncIterator:
    """Opens pages (each in a context of its own: its own storage); checks them at the end."""
    tabs: list[Tab] = []

    async def open_(url: str, *, phone: bool = False, dark: bool = False) -> Tab:
        size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
        context = await browser.new_context(
            viewport=size,
            color_scheme="dark" if dark else "light",
            is_mobile=phone,
            has_touch=phone,
        )
        page = await context.new_page()
        tab = Tab.watching(page)
        await page.goto(url)
        tabs.append(tab)
        return tab

    yield open_
    for tab in tabs:
        await tab.page.context.close()
    for tab in tabs:
        tab.assert_clean()


def _user(stack: Stack) -> str:
    name = f"web-{uuid.uuid4().hex[:8]}"
    add_user(stack, name)
    return name


async def _sign_in(page: Page, name: str) -> None:
    await page.get_by_role("textbox", name="Username").fill(name)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="New conversation")).to_be_visible()


async def _send(page: Page, text: str) -> None:
    await page.get_by_role("textbox", name="Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send").click()


async def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_sign_in_is_the_first_screen_and_a_typed_message_is_answered_aloud(
    june_stack: Stack, open_tab
) -> None:
    name = _user(june_stack)
    tab = await open_tab(june_stack.base_url)
    page = tab.page
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await _shot(page, "desktop-light-sign-in")
    await _sign_in(page, name)
    await page.get_by_role("button", name="New conversation").click()
    await _send(page, "Say hello.")
    log = page.get_by_role("log", name="Messages")
    await expect(log.get_by_text("Say hello.")).to_be_visible()
    # June's bubble fills as the answer streams in, and its speech plays as it arrives
    spoken = log.get_by_role("img", name=re.compile(r"Spoken answer, \d+\.\d seconds"))
    await expect(spoken).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    await expect(page.get_by_role("button", name="Stop")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
    # the answer is stored: after a reload (signed in again by the refresh token) it is there
    token = login(june_stack, name)
    stored = httpx.get(f"{june_stack.base_url}/v1/conversations", headers=auth_header(token))
    conversations = stored.json()["data"]
    assert len(conversations) == 1, conversations
    await _shot(page, "desktop-light-chat")
    await page.reload()
    await expect(page.get_by_role("button", name="New conversation")).to_be_visible()
    nav = page.get_by_role("navigation")
    await expect(nav.get_by_role("button", name=re.compile("Say hello"))).to_be_visible()


async def test_stop_interrupts_june(june_stack: Stack, open_tab) -> None:
    name = _user(june_stack)
    page = (await open_tab(june_stack.base_url)).page
    await _sign_in(page, name)
    await page.get_by_role("button", name="New conversation").click()
    await _send(page, LONG_ANSWER)
    log = page.get_by_role("log", name="Messages")
    await expect(log.get_by_role("img", name=re.compile("Spoken answer"))).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS
    )
    stop = page.get_by_role("button", name="Stop")
    await stop.click()
    await expect(stop).to_be_hidden(timeout=30_000)
    answer = log.get_by_role("listitem").last
    stopped = await answer.inner_text()
    await page.wait_for_timeout(2000)  # had it gone on, two more seconds would show it
    assert await answer.inner_text() == stopped, "the answer went on after Stop"
    # and June answers the next message
    await _send(page, "Say yes.")
    await expect(log.get_by_role("img", name=re.compile("Spoken answer"))).to_have_count(
        2, timeout=ANSWER_TIMEOUT_MS
    )


async def test_stored_strings_are_shown_as_text_and_run_nothing(
    june_stack: Stack, open_tab
) -> None:
    name = _user(june_stack)
    token = login(june_stack, name)
    page = (await open_tab(june_stack.base_url)).page
    await _sign_in(page, name)
    await page.get_by_role("button", name="New conversation").click()
    await _send(page, XSS)
    log = page.get_by_role("log", name="Messages")
    await expect(log.get_by_text(XSS, exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Stop")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
    listing = httpx.get(f"{june_stack.base_url}/v1/conversations", headers=auth_header(token))
    (conversation,) = listing.json()["data"]
    renamed = httpx.patch(
        f"{june_stack.base_url}/v1/conversations/{conversation['id']}",
        json={"title": XSS},
        headers=auth_header(token),
    )
    assert renamed.status_code == 200, renamed.text
    await page.reload()
    await expect(page.get_by_role("navigation").get_by_text(XSS).first).to_be_visible()
    assert await page.locator("img[src='x']").count() == 0


async def test_the_app_reconnects_after_the_gateway_restarts(june_stack: Stack, open_tab) -> None:
    name = _user(june_stack)
    page = (await open_tab(june_stack.base_url)).page
    await _sign_in(page, name)
    await page.get_by_role("button", name="New conversation").click()
    await _send(page, "Say hello.")
    log = page.get_by_role("log", name="Messages")
    await expect(log.get_by_role("img", name=re.compile("Spoken answer"))).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS
    )
    await expect(page.get_by_role("button", name="Stop")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
    gateway = june_stack.services["gateway"]
    assert gateway.stop() == 0
    await expect(page.get_by_text("Reconnecting…")).to_be_visible(timeout=30_000)
    june_stack.restart("gateway")
    await expect(page.get_by_text("Reconnected")).to_be_visible(timeout=60_000)
    # the conversation was reloaded (an answer may have been stored meanwhile) and goes on
    await expect(log.get_by_text("Say hello.")).to_be_visible()
    await _send(page, "Say goodbye.")
    await expect(log.get_by_text("Say goodbye.")).to_be_visible()
    answer = log.get_by_role("listitem").last  # June's bubble, once it exists
    await expect(answer.get_by_role("img", name=re.compile("Spoken answer"))).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS
    )


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
async def test_screens_on_a_phone_and_a_desktop(june_stack: Stack, open_tab, dark: bool) -> None:
    name = _user(june_stack)
    theme = "dark" if dark else "light"
    desktop = (await open_tab(june_stack.base_url, dark=dark)).page
    await _sign_in(desktop, name)
    await desktop.get_by_role("button", name="New conversation").click()
    await _send(desktop, "Say hello.")
    await expect(desktop.get_by_role("button", name="Stop")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
    await _shot(desktop, f"desktop-{theme}-chat")
    phone = (await open_tab(june_stack.base_url, phone=True, dark=dark)).page
    await _shot(phone, f"phone-{theme}-sign-in")
    await _sign_in(phone, name)
    await _shot(phone, f"phone-{theme}-conversations")
    nav = phone.get_by_role("navigation")
    await nav.get_by_role("button", name=re.compile("Say hello")).first.click()
    await expect(phone.get_by_role("textbox", name="Message", exact=True)).to_be_visible()
    await expect(
        phone.get_by_role("log", name="Messages").get_by_text("Say hello.")
    ).to_be_visible()
    await _shot(phone, f"phone-{theme}-chat")
    # on a phone the chat fills the screen: nothing sticks out sideways
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen"


async def test_an_uploaded_document_is_named_as_the_source_of_an_answer(
    june_stack: Stack, open_tab, tmp_path: Path
) -> None:
    name = _user(june_stack)
    page = (await open_tab(june_stack.base_url)).page
    await _sign_in(page, name)
    await page.get_by_role("button", name="Documents").click()
    panel = page.get_by_role("dialog", name="Documents")
    note = tmp_path / "shed-notes.md"
    note.write_text("# Shed\nThe key of the garden shed hangs behind the kitchen door.\n")
    await panel.get_by_label("Upload a document").set_input_files(str(note))
    listed = panel.get_by_role("list", name="Your documents")
    await expect(listed.get_by_text("shed-notes.md")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    await _shot(page, "desktop-light-documents")
    await panel.get_by_role("button", name="Close").click()
    await page.get_by_role("button", name="New conversation").click()
    await _send(page, "Where is the key of the garden shed?")
    log = page.get_by_role("log", name="Messages")
    sources = log.get_by_role("list", name="Sources")
    await expect(sources.get_by_text("shed-notes.md")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    await expect(page.get_by_role("button", name="Stop")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
    await page.reload()  # the sources are stored with the answer
    nav = page.get_by_role("navigation")
    await nav.get_by_role("button", name=re.compile("garden shed")).click()
    await expect(sources.get_by_text("shed-notes.md")).to_be_visible()


async def test_a_document_named_like_markup_shows_as_that_text_and_runs_nothing(
    june_stack: Stack, open_tab
) -> None:
    name = _user(june_stack)
    page = (await open_tab(june_stack.base_url)).page
    await _sign_in(page, name)
    await page.get_by_role("button", name="Documents").click()
    panel = page.get_by_role("dialog", name="Documents")
    payload = {"name": XSS, "mimeType": "text/plain", "buffer": b"Lemons grow in the south."}
    await panel.get_by_label("Upload a document").set_input_files(payload)
    listed = panel.get_by_role("list", name="Your documents")
    await expect(listed.get_by_text(XSS, exact=True)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    await panel.get_by_role("button", name="Close").click()
    await page.get_by_role("button", name="New conversation").click()
    await _send(page, "Where do lemons grow?")
    sources = page.get_by_role("log", name="Messages").get_by_role("list", name="Sources")
    await expect(sources.get_by_text(XSS, exact=True)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    assert await page.locator("img[src='x']").count() == 0


# ------------------------------------------------------------------------ voice
#: "Well now, Ennis, I declare you have a head and so has my stick." (4.4 s, LibriSpeech)
VOICE_CLIP = "1089-134686-0010"


def _fake_microphone(folder: Path, lead_s: float, tail_s: float) -> Path:
    """The clip as Chromium's fake microphone plays it (in a loop): 48 kHz mono s16 WAV,
    with silence before and after."""
    import wave

    import numpy as np

    from tests.speech import load_clip

    pcm = load_clip(VOICE_CLIP).pcm
    rate = 48_000
    upsampled = np.interp(np.arange(len(pcm) * 3) / 3, np.arange(len(pcm)), pcm)
    audio = np.concatenate([np.zeros(int(rate * lead_s)), upsampled, np.zeros(int(rate * tail_s))])
    path = folder / f"microphone-{lead_s}-{tail_s}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
async def voice_browser(
    built_app: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Browser]:
    """Chromium whose microphone is the speech clip, looping: 0.5 s of silence, the clip,
    then 6 s of silence (time for June to answer before the clip comes round again)."""
    microphone = _fake_microphone(tmp_path_factory.mktemp("microphone"), 0.5, 6.0)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--autoplay-policy=no-user-gesture-required",
                "--no-sandbox",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={microphone}",
            ],
        )
        yield browser
        await browser.close()


@dataclass
class Frames:
    """The realtime socket's frames as the browser sent and received them, with times."""

    sent: list[tuple[float, object]] = field(default_factory=list)
    received: list[tuple[float, object]] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        import time

        def on_socket(socket) -> None:  # type: ignore[no-untyped-def]
            socket.on("framesent", lambda f: self.sent.append((time.perf_counter(), f)))
            socket.on("framereceived", lambda f: self.received.append((time.perf_counter(), f)))

        page.on("websocket", on_socket)

    def events(self, kind: str) -> list[tuple[float, dict]]:
        import json

        found = []
        for at, frame in self.received:
            if isinstance(frame, str) and f'"{kind}"' in frame:
                body = json.loads(frame)
                if body.get("type") == kind:
                    found.append((at, body))
        return found

    def first_audio_after(self, at: float) -> float | None:
        return next((t for t, f in self.received if isinstance(f, bytes) and t > at), None)

    def commits(self) -> list[float]:
        return [t for t, f in self.sent if isinstance(f, str) and "input_audio.commit" in f]


#: An <audio> element's duration once its metadata is loaded (a Blob URL loads at once).
LOADED_DURATION = """a => new Promise(done => a.readyState >= 1 ? done(a.duration)
    : a.addEventListener("loadedmetadata", () => done(a.duration), {once: true}))"""


@pytest.fixture
async def voice_page(
    june_stack: Stack, voice_browser: Browser
) -> AsyncIterator[tuple[Page, Frames]]:
    """A new user, signed in with microphone permission, in a new conversation; the
    realtime socket's frames recorded. The page must end clean."""
    context = await voice_browser.new_context(
        viewport={"width": 1280, "height": 800}, permissions=["microphone"]
    )
    page = await context.new_page()
    tab = Tab.watching(page)
    frames = Frames()
    frames.watch(page)
    await page.goto(june_stack.base_url)
    await _sign_in(page, _user(june_stack))
    await page.get_by_role("button", name="New conversation").click()
    yield page, frames
    await context.close()
    tab.assert_clean()


async def test_a_voice_message_shows_its_transcript_and_plays_june_s_answer(
    voice_page: tuple[Page, Frames],
) -> None:
    from tests.speech import load_clip, wer

    page, frames = voice_page
    record = page.get_by_role("button", name="Record voice message")
    await expect(record).to_be_enabled()
    # click to start, click to send: the fake microphone says the clip after 0.5 s
    await record.click()
    await expect(record).to_have_attribute("aria-pressed", "true")
    await page.wait_for_timeout(5_500)
    await record.click()
    log = page.get_by_role("log", name="Messages")
    recording = log.get_by_label("Your recording")
    await expect(recording).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    answer = log.get_by_label("June's answer")
    await expect(answer).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    await _shot(page, "desktop-light-voice-message")
    # both copies can be played back: the recording and June's whole answer
    for player in (recording, answer):
        seconds = await player.evaluate(LOADED_DURATION)
        assert seconds > 0.3, (await player.get_attribute("aria-label"), seconds)
    (_, final), *_ = frames.events("transcript.final")
    clip = load_clip(VOICE_CLIP)
    assert wer(clip.text, final["text"]) <= 0.25, final["text"]
    await expect(log.get_by_text(final["text"])).to_be_visible()
    (commit_at, *_) = frames.commits()
    first_audio_at = frames.first_audio_after(commit_at)
    assert first_audio_at is not None, "June's answer audio came to the browser"
    (_, done), *_ = frames.events("turn.done")
    print(  # the figure for the closing note: the browser's view beside the server's
        f"\nbrowser: commit → first audio {first_audio_at - commit_at:.3f} s; "
        f"server: first_audio_s {done['timings'].get('first_audio_s')}"
    )


async def test_call_mode_answers_two_spoken_turns_in_a_row(
    voice_page: tuple[Page, Frames],
) -> None:
    page, frames = voice_page
    call = page.get_by_role("button", name="Call")
    await call.click()
    await expect(call).to_have_attribute("aria-pressed", "true")
    status = page.get_by_role("status", name="Call status")
    await expect(status).to_have_text("Listening", timeout=30_000)
    # the looping microphone says the clip every 10.9 s: two turns, each answered
    log = page.get_by_role("log", name="Messages")
    await expect(log.get_by_label("June's answer")).to_have_count(2, timeout=ANSWER_TIMEOUT_MS)
    await _shot(page, "desktop-light-call")
    assert len(frames.events("turn.done")) >= 2
    await call.click()
    await expect(call).to_have_attribute("aria-pressed", "false")
