// Provider id → connector module. Adding a provider = one folder + one line here.
import { adobeConnector } from './adobe/index.js';
import { datadogConnector } from './datadog/index.js';
import { ga4Connector } from './ga4/index.js';
import { newrelicConnector } from './newrelic/index.js';
import { prometheusConnector } from './prometheus/index.js';
import { sentryConnector } from './sentry/index.js';
import { testdataConnector } from './testdata/index.js';
import type { ConnectorModule } from './types.js';

/** Every provider, in the order a console lists them. */
export const CONNECTORS: readonly ConnectorModule[] = [
  prometheusConnector,
  datadogConnector,
  sentryConnector,
  newrelicConnector,
  ga4Connector,
  adobeConnector,
  testdataConnector,
];

const byId = new Map(CONNECTORS.map((c) => [c.id, c]));

/** The module for a provider id, or undefined. */
export function connectorFor(id: string): ConnectorModule | undefined {
  return byId.get(id);
}
