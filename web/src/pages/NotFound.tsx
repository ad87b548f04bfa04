import { Page } from '../components/Page';
import { Link } from '../router';

export function NotFound() {
  return (
    <Page title="Page not found" narrow>
      <div className="card">
        <p>There is no page at this address.</p>
        <p>
          <Link to="/">Go to the start page</Link>
        </p>
      </div>
    </Page>
  );
}
