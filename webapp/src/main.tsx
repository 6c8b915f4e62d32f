import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { AuthSession } from "./api/session";
import { App } from "./App";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("June's page has no #root element");

createRoot(root).render(
  <StrictMode>
    <App session={new AuthSession()} />
  </StrictMode>,
);
