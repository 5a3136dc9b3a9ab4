/** Where the operator view links a lease: the Temporal UI's address from the configuration, and its workflow page. */
import { temporalUiFromConfig } from '../../../api/deps';
import { temporalWorkflowUrl } from '../../../api/operator.routes';
import { loadConfig } from '../../../infra/config';

test('the dev server UI we start, an explicit TEMPORAL_UI_URL, or nothing for an external Temporal', () => {
  expect(temporalUiFromConfig(loadConfig({ TEMPORAL_UI_PORT: '9233' }))).toEqual({ url: 'http://127.0.0.1:9233', namespace: 'default' });
  expect(temporalUiFromConfig(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }))).toBeUndefined();
  expect(temporalUiFromConfig(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_UI_URL: 'https://ui.example/', TEMPORAL_NAMESPACE: 'prod' })))
    .toEqual({ url: 'https://ui.example/', namespace: 'prod' });
  expect(() => loadConfig({ TEMPORAL_UI_URL: 'not a url' })).toThrow(/TEMPORAL_UI_URL/);
});

test("a workflow's page in the Temporal UI, its parts escaped", () => {
  expect(temporalWorkflowUrl({ url: 'https://ui.example/', namespace: 'prod ns' }, 'lease-1')).toBe('https://ui.example/namespaces/prod%20ns/workflows/lease-1');
  expect(temporalWorkflowUrl(undefined, 'lease-1')).toBeNull();
});
