/**
 * The layering, written down once and checked by `npm test` (test/architecture.test.ts):
 *
 *   cli, gate  ->  resolvers, schema  ->  service  ->  analyzers  ->  datasets  ->  native  ->  common
 *                                         service  ->  storage  ->  common
 *
 * An import may only point down this picture (or stay in its folder); no cycles anywhere.
 * schema/ holds GraphQL classes built from the interfaces of the layers below (schema/fields.ts),
 * so it may import their *types* (`import type`, erased at build) but no code beyond common/.
 * bench/ and test/ may use anything; nothing shipped may use them. There are no exceptions.
 */
const LAYERS = '^(common|native|datasets|analyzers|storage|service|schema|resolvers|gate|cli|bench|test|web)/';
const layer = (name, mayUse, typesFrom = []) => [
  {
    name: `${name}-imports-only-below`,
    comment: `${name}/ may import only ${mayUse.join(', ')} (and itself)`,
    severity: 'error',
    from: { path: `^${name}/` },
    to: { path: LAYERS, pathNot: `^(${[name, ...mayUse].join('|')})/`, ...(typesFrom.length ? { dependencyTypesNot: ['type-only'] } : {}) },
  },
  ...(typesFrom.length
    ? [{
        name: `${name}-imports-types-only-below`,
        comment: `${name}/ may import types only from ${typesFrom.join(', ')}`,
        severity: 'error',
        from: { path: `^${name}/` },
        to: { path: LAYERS, pathNot: `^(${[name, ...mayUse, ...typesFrom].join('|')})/` },
      }]
    : []),
];

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    ...layer('common', []),
    ...layer('native', ['common']),
    ...layer('datasets', ['native', 'common']),
    ...layer('analyzers', ['datasets', 'native', 'common']),
    ...layer('storage', ['common']),
    ...layer('service', ['analyzers', 'datasets', 'native', 'storage', 'common']),
    ...layer('schema', ['common'], ['service', 'analyzers', 'datasets', 'native']),
    ...layer('resolvers', ['schema', 'service', 'common']),
    ...layer('gate', ['resolvers', 'schema', 'service', 'analyzers', 'datasets', 'native', 'common']),
    ...layer('cli', ['gate', 'resolvers', 'schema', 'service', 'analyzers', 'datasets', 'native', 'common']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|web)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
