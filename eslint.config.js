import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['scratch/', 'dist/', 'data/', 'node_modules/', 'coverage/', 'test-results/', 'web/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    files: ['src/main.ts', 'src/commands/**', 'bench/**', 'test/**', '.ci/**', 'deploy/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  // The web app runs in the browser (web/vite.config.ts, in Node, gets both sets).
  { files: ['web/**'], languageOptions: { globals: { ...globals.browser } } },
);
