import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { JoinPage } from './routes/join/JoinPage';
import { TryPage } from './routes/try/TryPage';
import './styles.css';

/** Pages by URL hash (#/try): the server serves one index.html and needs no route of its own. */
const PAGES = [
  { hash: '#/', name: 'Join a study' },
  { hash: '#/try', name: 'Try the model' },
] as const;
type PageHash = (typeof PAGES)[number]['hash'];

const pageOf = (hash: string): PageHash => PAGES.find((p) => p.hash === hash)?.hash ?? '#/';

function App() {
  const [page, setPage] = useState(() => pageOf(location.hash));
  useEffect(() => {
    const follow = () => setPage(pageOf(location.hash));
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  return (
    <>
      <nav className="app-nav" aria-label="Pages">
        {PAGES.map((p) => (
          <a key={p.hash} href={p.hash} aria-current={p.hash === page ? 'page' : undefined}>
            {p.name}
          </a>
        ))}
      </nav>
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
