import { rate, type RateRule } from './env-reader.js';

export const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export interface Preset {
  databasePoolSize: number;
  databaseMaxOverflow: number;
  logFormat: 'json' | 'pretty';
  logLevel: string;
  docsUrl: string | null;
  rateLimits: {
    login: RateRule;
    register: RateRule;
    refresh: RateRule;
    serviceToken: RateRule;
    api: RateRule;
    fileDelete: RateRule;
  };
}

// Pool sizes: seed 002 ("Production: 20 connections, 30 overflow; Staging: 10/20; Development: 5/10").
// Rate limits: seed 003 (login 5/minute, register 3/hour, refresh 10/minute, service token
// 50/minute, API 1000/minute) and seed 002 (auth 10/minute and file deletion 30/minute in
// staging, 20/minute in production). Development is relaxed, as seed 002 describes.
export const PRESETS: Record<Environment, Preset> = {
  development: {
    databasePoolSize: 5,
    databaseMaxOverflow: 10,
    logFormat: 'pretty',
    logLevel: 'info',
    docsUrl: '/docs',
    rateLimits: {
      login: rate('30/minute'),
      register: rate('30/hour'),
      refresh: rate('60/minute'),
      serviceToken: rate('300/minute'),
      api: rate('5000/minute'),
      fileDelete: rate('60/minute'),
    },
  },
  staging: {
    databasePoolSize: 10,
    databaseMaxOverflow: 20,
    logFormat: 'json',
    logLevel: 'info',
    docsUrl: '/docs',
    rateLimits: {
      login: rate('10/minute'),
      register: rate('3/hour'),
      refresh: rate('10/minute'),
      serviceToken: rate('50/minute'),
      api: rate('1000/minute'),
      fileDelete: rate('30/minute'),
    },
  },
  production: {
    databasePoolSize: 20,
    databaseMaxOverflow: 30,
    logFormat: 'json',
    logLevel: 'info',
    docsUrl: null,
    rateLimits: {
      login: rate('5/minute'),
      register: rate('3/hour'),
      refresh: rate('10/minute'),
      serviceToken: rate('50/minute'),
      api: rate('1000/minute'),
      fileDelete: rate('20/minute'),
    },
  },
};
