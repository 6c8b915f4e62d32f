/**
 * The signed-in app: the conversation list in a <nav>, the open conversation
 * in <main>. On a phone only one of them shows at a time (the chat has a back
 * button); on a desktop the list stays on the left. "Documents" opens the
 * documents panel over both (the rest of the page is inert meanwhile).
 */

import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { AuthSession } from "../api/session";
import type { Me } from "../api/types";
import { ChatController } from "../chat/controller";
import { useConversations } from "../chat/useConversations";
import { useDocuments } from "../documents/useDocuments";
import { conversationTitle } from "../format";
import { createMicRecorder } from "../audio/recorder";
import { ChatView, type ChatViewHandle } from "./ChatView";
import { ConversationList } from "./ConversationList";
import { DocumentsPanel } from "./DocumentsPanel";
import { PlusIcon } from "./Icons";

export interface WorkspaceProps {
  session: AuthSession;
  user: Me | null;
  onError(message: string): void;
}

function wide(): boolean {
  return typeof globalThis.matchMedia === "function" && globalThis.matchMedia("(min-width: 721px)").matches;
}

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

export function Workspace({ session, user, onError }: WorkspaceProps) {
  const errors = useRef(onError);
  errors.current = onError;
  const conversations = useConversations(session.http, onError);
  const refreshList = useRef(conversations.refresh);
  refreshList.current = conversations.refresh;
  const documents = useDocuments(session.http, onError);
  const [documentsOpen, setDocumentsOpen] = useState(false);
  const documentsButton = useRef<HTMLButtonElement>(null);

  const [controller] = useState(
    () =>
      new ChatController({
        tokens: session,
        http: session.http,
        storage: storage(),
        onError: (message) => errors.current(message),
        onSaved: () => void refreshList.current(),
        onGone: () => void refreshList.current(),
        createRecorder: createMicRecorder,
      }),
  );
  const state = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
  const chat = useRef<ChatViewHandle>(null);
  const newButton = useRef<HTMLButtonElement>(null);
  const focusAfterOpen = useRef(false);

  // Sound may only start after a gesture: resume audio on the first ones.
  useEffect(() => {
    const unlock = () => controller.unlockAudio();
    const online = () => controller.retryNow();
    window.addEventListener("pointerdown", unlock);
    window.addEventListener("keydown", unlock);
    window.addEventListener("online", online);
    return () => {
      window.removeEventListener("pointerdown", unlock);
      window.removeEventListener("keydown", unlock);
      window.removeEventListener("online", online);
      controller.dispose();
    };
  }, [controller]);

  useEffect(() => {
    if (!state.isOpen || !focusAfterOpen.current) return;
    focusAfterOpen.current = false;
    if (wide()) chat.current?.focusComposer();
    else chat.current?.focusTitle();
  }, [state.isOpen, state.conversationId]);

  const open = useCallback(
    (id: string | null) => {
      focusAfterOpen.current = true;
      controller.unlockAudio();
      controller.open(id);
    },
    [controller],
  );

  const back = useCallback(() => {
    controller.close();
    newButton.current?.focus();
  }, [controller]);

  const remove = useCallback(
    async (id: string) => {
      const ok = await conversations.remove(id);
      if (ok) {
        if (controller.getSnapshot().conversationId === id) controller.close();
        newButton.current?.focus();
      }
      return ok;
    },
    [controller, conversations],
  );

  const refreshDocuments = documents.refresh;
  const openDocuments = useCallback(() => {
    setDocumentsOpen(true);
    void refreshDocuments();
  }, [refreshDocuments]);

  const closeDocuments = useCallback(() => {
    setDocumentsOpen(false);
    documentsButton.current?.focus();
  }, []);

  const active = state.isOpen ? state.conversationId : null;
  const current = conversations.items.find((c) => c.id === active);
  const title = state.conversationId === null ? "New conversation" : conversationTitle(current?.title);

  return (
    <div className="workspace" data-view={state.isOpen ? "chat" : "list"}>
      <nav className="sidebar" aria-label="Conversations" inert={documentsOpen}>
        <div className="sidebar-header">
          <h1 className="brand">June</h1>
          <div className="account">
            {user ? <span className="user-name">{user.name}</span> : null}
            <button
              type="button"
              ref={documentsButton}
              className="small"
              aria-haspopup="dialog"
              aria-expanded={documentsOpen}
              onClick={openDocuments}
            >
              Documents
            </button>
            <button type="button" className="small" onClick={() => session.signOut()}>
              Sign out
            </button>
          </div>
        </div>
        <button
          type="button"
          ref={newButton}
          className="primary new-conversation"
          onClick={() => open(null)}
          aria-current={state.isOpen && state.conversationId === null ? "true" : undefined}
        >
          <PlusIcon />
          <span>New conversation</span>
        </button>
        <ConversationList
          items={conversations.items}
          loading={conversations.loading}
          hasMore={conversations.hasMore}
          activeId={active}
          onOpen={(id) => open(id)}
          onRename={conversations.rename}
          onDelete={remove}
          onLoadMore={() => void conversations.loadMore()}
        />
      </nav>
      <main className="main" inert={documentsOpen}>
        {state.isOpen ? (
          <ChatView
            ref={chat}
            state={state}
            title={title}
            onBack={back}
            onSend={(text) => controller.send(text)}
            onStop={() => controller.stop()}
            onSpeaker={(on) => controller.setSpeaker(on)}
            onLoadEarlier={() => void controller.loadEarlier()}
            onStartRecording={() => controller.startVoiceMessage()}
            onStopRecording={() => controller.stopVoiceMessage()}
            onCall={(on) => (on ? controller.startCall() : controller.endCall())}
          />
        ) : (
          <div className="placeholder">
            <h2>Welcome to June</h2>
            <p>Choose a conversation, or start a new one.</p>
          </div>
        )}
      </main>
      {documentsOpen ? <DocumentsPanel documents={documents} onClose={closeDocuments} /> : null}
    </div>
  );
}
