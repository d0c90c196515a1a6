/**
 * kubeplug's layers import downward only:
 *   catalog, util (facts) -> config (schemas, checks) -> renderers -> plan -> components / CLI.
 * Renderers live beside their components (src/components/<domain>/*-render.ts, *-steps.ts, ...);
 * what keeps them, the config and the plan pure is that none of them may reach @pulumi at all.
 * Paths are matched unanchored so test/fixtures/layers can prove each rule fails on a violation.
 */
const layer = (dir) => `(^|/)src/${dir}/`;

module.exports = {
  forbidden: [
    {
      name: "facts-import-nothing-above",
      comment: "src/catalog and src/util hold facts and helpers; they cannot depend on config, renderers, the plan or components.",
      severity: "error",
      from: { path: `${layer("(catalog|util)")}` },
      to: { path: `${layer("(config|components|plan|cli)")}|(^|/)src/(stack-program|program|index)\\.ts$` },
    },
    {
      name: "config-imports-no-renderer",
      comment: "src/config validates input; it may use facts but never a renderer, the plan or a component.",
      severity: "error",
      from: { path: layer("config") },
      to: { path: `${layer("(components|plan|cli)")}|(^|/)src/(stack-program|program|index)\\.ts$` },
    },
    {
      name: "plan-is-pure",
      comment: "config, renderers and the plan are pure functions: nothing they import may reach Pulumi.",
      severity: "error",
      from: { path: `${layer("(catalog|util|config|plan)")}|(^|/)src/components/.*-(render|steps|features|toml|bundle|plugins|conflist|manifest)\\.ts$|(^|/)src/components/node/(step|shell|files)\\.ts$` },
      to: { path: "@pulumi/", reachable: true },
    },
    {
      name: "plan-imports-no-component",
      comment: "The plan uses renderers; components map plans, so a plan importing a component runs upward.",
      severity: "error",
      from: { path: layer("plan") },
      to: { path: `(^|/)src/components/cluster\\.ts$|(^|/)src/(stack-program|program|index)\\.ts$|${layer("cli")}` },
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "(^|/)dist/" },
  },
};
