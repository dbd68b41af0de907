import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { SettingsProvider } from './ui/use-setting';
import './ui/styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SettingsProvider>
      <App />
    </SettingsProvider>
  </StrictMode>,
);

// Offline use after the first visit (production builds only: the dev server's modules change constantly).
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((e: Error) => console.warn(`offline use unavailable: ${e.message}`));
}
