import { describe, expect, it } from 'vitest';
import { prepared, preparedName } from './prepared.js';

describe('prepared statement markers', () => {
  it('a text ending with the marker gets the name and a digest of the text; others none', () => {
    const a = preparedName('select 1 /*prepared:probe*/');
    expect(a).toMatch(/^probe_[0-9a-f]{12}$/);
    expect(preparedName('select 1 /*prepared:probe*/')).toBe(a);
    expect(preparedName('select 2 /*prepared:probe*/')).not.toBe(a);
    expect(preparedName('select 1')).toBeNull();
    expect(preparedName('select 1 /*prepared:probe*/ limit 1')).toBeNull();
    expect(preparedName('select 1 /* other */')).toBeNull();
  });

  it('names are lower-case identifiers', () => {
    expect(() => prepared('Bad name')).toThrow();
    expect(() => prepared('rotate_refresh_token')).not.toThrow();
  });
});
