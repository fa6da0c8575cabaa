// A small hand-written OpenAPI 3.1 document for the API reference tests.
export const SAMPLE_OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'OpsTrails Impact', version: '1.0.0', description: 'Events in, impact reports out.' },
  paths: {
    '/v1/events': {
      post: {
        tags: ['events'],
        summary: 'Send events',
        description: 'CloudEvents 1.0 in structured, batch or binary mode.',
        requestBody: {
          required: true,
          content: { 'application/cloudevents+json': { schema: { $ref: '#/components/schemas/CloudEvent' } } },
        },
        responses: {
          '202': {
            description: 'Stored',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['accepted', 'duplicates'],
                  properties: {
                    accepted: { type: 'array', items: { type: 'string' } },
                    duplicates: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
          '400': {
            description: 'Invalid event',
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        },
      },
      get: {
        tags: ['events'],
        summary: 'List events',
        parameters: [
          { name: 'subject', in: 'query', schema: { type: 'string' }, description: 'Environment, e.g. production' },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        ],
        responses: { '200': { description: 'A page of events' } },
      },
    },
    '/v1/events/{id}/impact': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'Event id' }],
      get: {
        tags: ['impact'],
        summary: 'Impact report of one event',
        responses: {
          '200': {
            description: 'The report',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    status: { type: 'string', enum: ['pending', 'ready', 'partial', 'failed'] },
                    verdict: {
                      anyOf: [
                        { type: 'string', enum: ['regression', 'improvement', 'no_change', 'inconclusive'] },
                        { type: 'null' },
                      ],
                    },
                    metrics: {
                      type: 'array',
                      items: { type: 'object', properties: { name: { type: 'string', description: 'Metric <name>' } } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    '/healthz': {
      get: { tags: ['health'], summary: 'Process up', security: [], responses: { '200': { description: 'ok' } } },
    },
  },
  components: {
    schemas: {
      CloudEvent: {
        type: 'object',
        required: ['specversion', 'id', 'source', 'type'],
        properties: {
          specversion: { const: '1.0' },
          id: { type: 'string', minLength: 1 },
          source: { type: 'string', format: 'uri-reference' },
          type: { type: 'string' },
          time: { type: 'string', format: 'date-time' },
          data: { description: 'Kept as sent' },
        },
        additionalProperties: { type: ['string', 'number', 'boolean'] },
      },
      Problem: {
        type: 'object',
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
        },
      },
    },
  },
};
