import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The gateway serves the built app from webapp/dist at `/`, on the same origin
// as the API, so the app only uses relative URLs (`/v1/...`). In development,
// Vite proxies them (HTTP and the realtime WebSocket) to a local gateway.
const gateway = "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/v1": { target: gateway, changeOrigin: true, ws: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["tests/**/*.test.{ts,tsx}"],
    setupFiles: ["tests/setup.ts"],
    restoreMocks: true,
  },
});
