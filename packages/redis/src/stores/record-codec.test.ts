import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFields, decodeRecord, encodeFields } from './record-codec.js';

describe('record codec', () => {
  it('round-trips any patch through hash fields', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            iterations: fc.nat(),
            lastText: fc.string(),
            steering: fc.record({ sent: fc.nat(), delivered: fc.nat() }),
            output: fc.record({ firstIndex: fc.nat(), lines: fc.array(fc.string()) }),
          },
          { requiredKeys: [] },
        ),
        (patch) => {
          expect(decodeFields(encodeFields(patch))).toEqual(patch);
        },
      ),
    );
  });

  it('skips bookkeeping fields and refuses an incomplete record', () => {
    expect(decodeFields({ _admitted: '1', iterations: '3' })).toEqual({ iterations: 3 });
    expect(decodeRecord({ status: '"queued"' })).toBeUndefined();
  });
});
