// The boundary of the connector layer: every live connector is built here,
// with the egress policy around its HTTP client (connectors/egress.ts) and its
// secrets scrubbed by value (connectors/secrets.ts) from everything that
// leaves it — errors, check results, dry runs and log lines.
import { egressFetch } from './egress.js';
import { scrubDeep, secretScrubber, type Scrub } from './secrets.js';
import {
  ConnectorError,
  type CheckResult,
  type Connector,
  type ConnectorDeps,
  type ConnectorModule,
  type Logger,
} from './types.js';

/**
 * Create a connector of `module` behind the egress policy and the secret
 * scrubber. `config` and `secrets` are already validated by the module's
 * schemas. Every error message that leaves it is scrubbed; a ConnectorError
 * leaves without its cause (a cause may hold a request, its headers or a
 * provider body).
 */
export function createGuardedConnector<C, S, Q>(
  module: ConnectorModule<C, S, Q>,
  config: C,
  secrets: S,
  deps: ConnectorDeps,
): Connector<Q> {
  const scrub = secretScrubber(secrets);
  const egress = egressFetch(deps.fetch, {
    ...deps.hostPolicy,
    provider: module.name,
    officialHosts: module.officialHosts,
  });
  let inner: Connector<Q>;
  try {
    inner = module.create(config, secrets, {
      ...deps,
      fetch: egress.fetch,
      logger: scrubbingLogger(deps.logger, scrub),
    });
  } catch (err) {
    throw scrubbedError(err, scrub);
  }
  return scrubbingConnector(inner, scrub);
}

/** The error as it may leave the connector layer: a ConnectorError keeps code, status and retry hint, with its message scrubbed. */
function scrubbedError(err: unknown, scrub: Scrub): unknown {
  if (err instanceof ConnectorError) {
    return new ConnectorError(err.code, scrub(err.message), {
      retryAfterSeconds: err.retryAfterSeconds,
      status: err.status,
      retryable: err.retryable,
    });
  }
  // Aborts and the unexpected keep their type (callers tell an abort by its name).
  if (err instanceof Error) err.message = scrub(err.message);
  return err;
}

function scrubbingLogger(logger: Logger, scrub: Scrub): Logger {
  const wrap = (level: keyof Logger) => (obj: object, msg?: string) =>
    logger[level](scrubDeep(obj, scrub), msg === undefined ? undefined : scrub(msg));
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}

function scrubbingConnector<Q>(connector: Connector<Q>, scrub: Scrub): Connector<Q> {
  return {
    limits: connector.limits,
    async check(): Promise<CheckResult> {
      let result: CheckResult;
      try {
        result = await connector.check();
      } catch (err) {
        // check() promises never to throw; if one does, the caller still gets a result.
        const e = scrubbedError(err, scrub);
        result = {
          ok: false,
          error:
            e instanceof ConnectorError
              ? { code: e.code, message: e.message }
              : { code: 'unavailable', message: 'the check failed unexpectedly' },
        };
      }
      return scrubDeep(result, scrub);
    },
    fetchSeries: (query, opts) =>
      connector.fetchSeries(query, opts).catch((err: unknown) => {
        throw scrubbedError(err, scrub);
      }),
    describeQuery(query, window) {
      try {
        return scrubDeep(connector.describeQuery(query, window), scrub);
      } catch (err) {
        throw scrubbedError(err, scrub);
      }
    },
  };
}
