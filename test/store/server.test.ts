// The store suite on the server backend (@clickhouse/client over HTTP). With
// CLICKHOUSE_URL set it runs against that real server; otherwise against the
// ClickHouse-HTTP-compatible test endpoint that executes on chDB.
import { expect } from 'vitest';
import { openStore } from '../../store/index.js';
import { startClickHouseHttp, type ClickHouseHttp } from '../support/clickhouse-http.js';
import { databaseName, sharedChdb } from '../support/store.js';
import { storeSuite } from './suite.js';

let endpoint: ClickHouseHttp | undefined;
const realServer = process.env.CLICKHOUSE_URL;

storeSuite(
  realServer ? `ClickHouse server ${realServer}` : 'server backend via the ClickHouse-HTTP test endpoint',
  async () => {
    if (!realServer) endpoint = await startClickHouseHttp(sharedChdb().session);
    return openStore({
      clickhouseUrl: realServer ?? endpoint!.url,
      username: process.env.CLICKHOUSE_USER ?? 'default',
      password: process.env.CLICKHOUSE_PASSWORD ?? '',
      database: databaseName('srv'),
    });
  },
  async () => {
    if (endpoint && !realServer) {
      // The suite must really have gone through HTTP.
      expect(endpoint.served.query).toBeGreaterThan(10);
      expect(endpoint.served.insert).toBeGreaterThan(3);
    }
    await endpoint?.close();
  },
);
