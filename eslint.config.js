// Lint rules, including the import boundaries from the architecture doc:
// the runtime never imports a concrete connector, connectors reach the runtime only through runtime/api.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.services/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['runtime/**/*.ts'],
    ignores: ['runtime/plugins/builtin.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/connectors/**'],
              message:
                'The runtime never imports a concrete connector; register it in runtime/plugins/builtin.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['runtime/api/**/*.ts', 'runtime/cdc/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!api/|cdc/)',
              message:
                'runtime/api and runtime/cdc are what connectors see: they import nothing else from the runtime.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['connectors/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+runtime/(?!api/|cdc/)',
              message:
                'Connectors import the runtime only through runtime/api (and the shared CDC machinery in runtime/cdc).',
            },
          ],
        },
      ],
    },
  },
);
