// Event types at ingest: loosely written known types get their name; everything else is kept.
import { describe, expect, it } from 'vitest';
import { normalizeEventType, receive, type CloudEvent } from '../../domain/event.js';

const event = (type: string): CloudEvent => ({ specversion: '1.0', id: 'e1', source: 'ci', type });

describe('normalizeEventType', () => {
  it.each([
    ['data_load', 'data-load'],
    ['dataload', 'data-load'],
    ['Data-Load', 'data-load'],
    ['DATA_LOAD', 'data-load'],
    ['DataLoad', 'data-load'],
    ['data-load', 'data-load'],
    ['Deployment', 'deployment'],
    ['ROLLBACK', 'rollback'],
    ['Incident', 'incident'],
  ])('%s → %s', (sent, stored) => {
    expect(normalizeEventType(sent)).toBe(stored);
  });

  it.each([
    'dev.opstrails.data_load',
    'dev.opstrails.Deployment',
    'data__load',
    'data load',
    'data.load',
    'deployments',
    'pre-deployment',
    'feature_flag',
    'Feature-Flag',
  ])('keeps %s as sent', (sent) => {
    expect(normalizeEventType(sent)).toBe(sent);
  });
});

describe('receive', () => {
  it('stores the canonical type and leaves the event it was given unchanged', () => {
    const sent = { ...event('Data_Load'), time: '2026-11-20T10:00:00Z', data: { rows: 3 } };
    const received = receive(sent, 42);
    expect(received.event).toEqual({ ...sent, type: 'data-load' });
    expect(sent.type).toBe('Data_Load');
    expect(received.time).toBe(Date.UTC(2026, 10, 20, 10));
  });

  it('passes an event whose type needs nothing through as is', () => {
    const sent = event('dev.opstrails.deployment');
    expect(receive(sent, 42).event).toBe(sent);
  });
});
