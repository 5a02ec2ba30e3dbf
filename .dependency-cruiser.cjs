/**
 * The layering, written down once and checked by `npm test` (test/architecture.test.ts):
 *
 *   cli, gate  ->  resolvers, schema  ->  service  ->  analyzers  ->  datasets  ->  native  ->  common
 *                                         service  ->  storage  ->  common
 *
 * An import may only point down this picture (or stay in its folder); no cycles anywhere.
 * bench/ and test/ may use anything; nothing shipped may use them. Known exceptions are listed
 * in .dependency-cruiser-known-violations.json (issue 21 removes them); a new one fails the test.
 */
const layer = (name, mayUse) => ({
  name: `${name}-imports-only-below`,
  comment: `${name}/ may import only ${mayUse.join(', ')} (and itself)`,
  severity: 'error',
  from: { path: `^${name}/` },
  to: { path: '^(common|native|datasets|analyzers|storage|service|schema|resolvers|gate|cli|bench|test|web)/', pathNot: `^(${[name, ...mayUse].join('|')})/` },
});

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    layer('common', []),
    layer('native', ['common']),
    layer('datasets', ['native', 'common']),
    layer('analyzers', ['datasets', 'native', 'common']),
    layer('storage', ['common']),
    layer('service', ['analyzers', 'datasets', 'native', 'storage', 'common']),
    layer('schema', ['common']),
    layer('resolvers', ['schema', 'service', 'common']),
    layer('gate', ['resolvers', 'schema', 'service', 'analyzers', 'datasets', 'native', 'common']),
    layer('cli', ['gate', 'resolvers', 'schema', 'service', 'analyzers', 'datasets', 'native', 'common']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|web)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
