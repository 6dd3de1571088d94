import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { JoinPage } from './routes/join/JoinPage';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <JoinPage />
  </StrictMode>,
);
