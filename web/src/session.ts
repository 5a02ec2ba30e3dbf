/** What the signed-in caller may do, shared by every page. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export interface Session {
  scopes: string[];
  tokensRequired: boolean;
  canWrite: boolean;
}

export const SessionContext = createContext<Session>({ scopes: [], tokensRequired: false, canWrite: false });
export const useSession = () => useContext(SessionContext);
