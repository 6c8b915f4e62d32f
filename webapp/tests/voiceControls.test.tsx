import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { ChatMessage, ChatState } from "../src/chat/controller";
import { ChatView } from "../src/components/ChatView";
import { Composer, type VoiceControls } from "../src/components/Composer";
import { MessageBubble } from "../src/components/MessageBubble";

function controls(recording = false, inCall = false): VoiceControls {
  return { recording, inCall, onStartRecording: vi.fn(), onStopRecording: vi.fn(), onCall: vi.fn() };
}

function composer(voice: VoiceControls) {
  return render(<Composer onSend={() => true} onStop={() => undefined} showStop={false} voice={voice} />);
}

describe("voice controls", () => {
  it("a short press starts; the next press stops (click-to-toggle)", () => {
    const now = vi.spyOn(Date, "now").mockReturnValue(1000);
    const voice = controls();
    const { rerender } = composer(voice);
    const mic = screen.getByRole("button", { name: "Record voice message" });
    expect(mic).toHaveAttribute("aria-pressed", "false");
    fireEvent.pointerDown(mic);
    now.mockReturnValue(1100);
    fireEvent.pointerUp(mic);
    fireEvent.click(mic);
    expect(voice.onStartRecording).toHaveBeenCalledTimes(1);
    expect(voice.onStopRecording).not.toHaveBeenCalled();
    const on = { ...voice, recording: true };
    rerender(<Composer onSend={() => true} onStop={() => undefined} showStop={false} voice={on} />);
    expect(mic).toHaveAttribute("aria-pressed", "true");
    fireEvent.pointerDown(mic);
    now.mockReturnValue(1150);
    fireEvent.pointerUp(mic);
    fireEvent.click(mic);
    expect(voice.onStopRecording).toHaveBeenCalledTimes(1);
    expect(voice.onStartRecording).toHaveBeenCalledTimes(1);
  });

  it("hold to talk: released (or the pointer leaves) after 300 ms stops", () => {
    const now = vi.spyOn(Date, "now").mockReturnValue(0);
    const voice = controls();
    composer(voice);
    const mic = screen.getByRole("button", { name: "Record voice message" });
    fireEvent.pointerDown(mic);
    now.mockReturnValue(900);
    fireEvent.pointerLeave(mic);
    expect(voice.onStartRecording).toHaveBeenCalledTimes(1);
    expect(voice.onStopRecording).toHaveBeenCalledTimes(1);
    fireEvent.pointerUp(mic); // nothing more: the press already ended
    expect(voice.onStopRecording).toHaveBeenCalledTimes(1);
  });

  it("keyboard (a click without a pointer) toggles", () => {
    const voice = controls();
    const { rerender } = composer(voice);
    const mic = screen.getByRole("button", { name: "Record voice message" });
    fireEvent.keyDown(mic, { key: "Enter" });
    fireEvent.click(mic);
    expect(voice.onStartRecording).toHaveBeenCalledTimes(1);
    rerender(<Composer onSend={() => true} onStop={() => undefined} showStop={false} voice={{ ...voice, recording: true }} />);
    fireEvent.keyDown(mic, { key: " " });
    fireEvent.click(mic);
    expect(voice.onStopRecording).toHaveBeenCalledTimes(1);
  });

  it("Call: pressed while in the call; the status region says what June does", () => {
    const voice = controls();
    const state = {
      isOpen: true, conversationId: "c1", messages: [], loading: false, hasEarlier: false, connection: "open", notice: null,
      answering: false, playing: false, speaker: true, partialTranscript: "", voice: "call", recorder: "recording", callStatus: "Thinking",
    } as ChatState;
    const props = {
      title: "T", onBack: vi.fn(), onSend: () => true, onStop: vi.fn(), onSpeaker: vi.fn(), onLoadEarlier: vi.fn(),
      onStartRecording: voice.onStartRecording, onStopRecording: voice.onStopRecording, onCall: voice.onCall,
    };
    const { rerender } = render(<ChatView state={state} {...props} />);
    const call = screen.getByRole("button", { name: "Call" });
    expect(call).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByRole("status", { name: "Call status" })).toHaveTextContent("Thinking");
    expect(screen.getByRole("button", { name: "Record voice message" })).toBeDisabled();
    fireEvent.click(call);
    expect(voice.onCall).toHaveBeenCalledWith(false);
    rerender(<ChatView state={{ ...state, voice: "off", callStatus: null }} {...props} />);
    expect(screen.getByRole("button", { name: "Call" })).toHaveAttribute("aria-pressed", "false");
    expect(screen.queryByRole("status", { name: "Call status" })).toBeNull();
  });

  it("bubbles offer the recordings: 'Your recording' and 'June's answer'", () => {
    const base: ChatMessage = { key: "k", id: null, role: "user", text: "hi", createdAt: "2025-01-01T10:00:00Z", turnId: null, status: "sent", sources: [], audioSeconds: 0 };
    render(
      <ul>
        <MessageBubble message={{ ...base, audioUrl: "blob:a" }} />
        <MessageBubble message={{ ...base, key: "j", role: "assistant", status: "done", audioUrl: "blob:b" }} />
      </ul>,
    );
    expect(screen.getByLabelText("Your recording")).toHaveAttribute("src", "blob:a");
    expect(screen.getByLabelText("June's answer")).toHaveAttribute("src", "blob:b");
    expect(screen.getByLabelText("Your recording").tagName).toBe("AUDIO");
  });
});
