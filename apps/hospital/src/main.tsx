import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { PageNav, useHashPage } from '@fedward/ui/PageNav';
import { JoinPage } from './routes/join/JoinPage';
import { TryPage } from './routes/try/TryPage';
import './styles.css';

/** Pages by URL hash (#/try): the server serves one index.html and needs no route of its own. */
const PAGES = [
  { hash: '#/', name: 'Join a study' },
  { hash: '#/try', name: 'Try the model' },
] as const;

function App() {
  const page = useHashPage(PAGES);
  return (
    <>
      <PageNav pages={PAGES} current={page} />
      {/* Only hidden on the other page: unmounting it would stop a federation this tab takes part in. */}
      <div hidden={page !== '#/'}>
        <JoinPage />
      </div>
      {page === '#/try' && <TryPage />}
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
