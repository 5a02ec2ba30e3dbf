/** The dashboard shell: sign-in when the server asks for a token, navigation, the hash router. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, errorText, gql, token } from './api';
import { useRoute } from './hooks';
import { SessionContext, type Session } from './session';
import { ErrorLine } from './ui';
import { ModelPage, ModelsPage } from './pages/Models';
import { DatasetPage, DatasetsPage } from './pages/Datasets';
import { NewAnalysisPage } from './pages/NewAnalysis';
import { AnalysisPage } from './pages/Analysis';
import { HistoryPage } from './pages/History';
import { ZooPage, ZoosPage } from './pages/Zoos';
import { GatePage } from './pages/Gate';
import './style.css';

function Login({ onToken, error }: { onToken: (t: string) => void; error: string | null }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="card login"
      data-testid="login"
      onSubmit={(e) => {
        e.preventDefault();
        onToken(value.trim());
      }}
    >
      <h2>Sign in</h2>
      <p>This server needs an API token. It is kept for this tab only.</p>
      <input type="password" name="token" placeholder="token" value={value} onInput={(e) => setValue(e.currentTarget.value)} autocomplete="off" />
      <button type="submit">Sign in</button>
      <ErrorLine error={error} />
    </form>
  );
}

function Page({ route }: { route: string }) {
  const [path, search = ''] = route.split('?');
  const parts = path!.split('/').filter(Boolean);
  const [section, id] = parts;
  switch (section) {
    case 'models':
      return id ? <ModelPage id={id} /> : <ModelsPage />;
    case 'datasets':
      return id ? <DatasetPage id={id} /> : <DatasetsPage />;
    case 'analyses':
      if (id === 'new') return <NewAnalysisPage query={new URLSearchParams(search)} />;
      return id ? <AnalysisPage id={id} /> : <HistoryPage />;
    case 'zoos':
      return id ? <ZooPage id={id} /> : <ZoosPage />;
    case 'gate':
      return <GatePage />;
    default:
      return <ModelsPage />;
  }
}

const NAV: Array<[string, string]> = [
  ['models', 'Models'],
  ['datasets', 'Datasets'],
  ['analyses/new', 'New analysis'],
  ['analyses', 'Analyses'],
  ['zoos', 'Zoos'],
  ['gate', 'Gate report'],
];

function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null>(null);
  const [needToken, setNeedToken] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const signIn = async () => {
    try {
      const { viewer } = await gql<{ viewer: { scopes: string[]; tokensRequired: boolean } }>(`{ viewer { scopes tokensRequired } }`);
      setSession({ ...viewer, canWrite: viewer.scopes.includes('write') });
      setNeedToken(false);
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'UNAUTHENTICATED') {
        if (token.get()) setError('That token was not accepted.');
        token.clear();
        setNeedToken(true);
      } else setError(errorText(e));
    }
  };
  useEffect(() => {
    void signIn();
  }, []);

  const section = route.split('/').filter(Boolean).slice(0, 2).join('/');
  return (
    <>
      <header>
        <h1>
          <a href="#/models">onnxscope</a>
        </h1>
        {session && (
          <nav>
            {NAV.map(([r, label]) => (
              <a href={`#/${r}`} class={section === r || (r === 'analyses' && section.startsWith('analyses/') && section !== 'analyses/new') ? 'active' : ''}>
                {label}
              </a>
            ))}
          </nav>
        )}
        {session?.tokensRequired && (
          <span class="who">
            {session.canWrite ? (
              'read + write'
            ) : (
              <span class="badge readonly" data-testid="read-only">
                read-only
              </span>
            )}{' '}
            <button
              type="button"
              onClick={() => {
                token.clear();
                setSession(null);
                setNeedToken(true);
              }}
            >
              Sign out
            </button>
          </span>
        )}
      </header>
      <main>
        {needToken ? (
          <Login
            error={error}
            onToken={(t) => {
              token.set(t);
              void signIn();
            }}
          />
        ) : session ? (
          <SessionContext.Provider value={session}>
            <Page route={route} />
          </SessionContext.Provider>
        ) : (
          <ErrorLine error={error} />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
