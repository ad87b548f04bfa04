import { createRoot } from 'react-dom/client';
import { App } from './App';
import { restoreSession } from './session';
import { applyRememberedTheme } from './theme';
import './styles.css';

applyRememberedTheme();
void restoreSession();

const root = document.getElementById('root');
if (root) createRoot(root).render(<App />);
