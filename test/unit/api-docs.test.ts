import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The public API is documented where users read it: in their editor, from the .d.ts. Every field
// of every exported `*Args` type must carry a doc comment, and so must the fields of the node and
// connection types those Args take (interfaces declared under src/components, followed through
// arrays). Plans (src/plan) are made by planCluster, not written by hand, so they are not followed.
const root = join(__dirname, "..", "..");
const index = join(root, "src", "index.ts");
const followed = join(root, "src", "components") + "/";

/**
 * The program of src/index.ts. @pulumi/kubernetes's declarations (thousands of files) are read as
 * empty: no Args field is declared there, and parsing them would be most of this test's time.
 */
function program(): ts.Program {
  const file = ts.findConfigFile(root, ts.sys.fileExists, "tsconfig.json")!;
  const { config } = ts.readConfigFile(file, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, ...rest) =>
    fileName.includes("/node_modules/@pulumi/kubernetes/") ? ts.createSourceFile(fileName, "", language) : read(fileName, language, ...rest);
  return ts.createProgram([index], { ...options, noEmit: true }, host);
}

/** `Type.field` for every field reachable from the exported Args that has no doc comment. */
function undocumentedFields(): { checked: string[]; missing: string[] } {
  const p = program();
  const checker = p.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(p.getSourceFile(index)!)!;
  const seen = new Set<ts.Type>();
  const checked: string[] = [];
  const missing: string[] = [];

  const visit = (typeName: string, type: ts.Type): void => {
    if (seen.has(type)) return;
    seen.add(type);
    for (const property of checker.getPropertiesOfType(type)) {
      const field = `${typeName}.${property.name}`;
      checked.push(field);
      if (ts.displayPartsToString(property.getDocumentationComment(checker)).trim() === "") missing.push(field);
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      if (declaration) followInto(checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(property, declaration)));
    }
  };
  const followInto = (type: ts.Type): void => {
    const element = checker.isArrayType(type) ? checker.getTypeArguments(type as ts.TypeReference)[0] : type;
    const declaration = element?.getSymbol()?.declarations?.[0];
    if (!element || !declaration || !ts.isInterfaceDeclaration(declaration)) return;
    if (declaration.getSourceFile().fileName.startsWith(followed)) visit(declaration.name.text, element);
  };

  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    if (!exported.name.endsWith("Args")) continue;
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    visit(exported.name, checker.getDeclaredTypeOfSymbol(symbol));
  }
  return { checked, missing };
}

describe("public API docs", () => {
  it("every field of an exported Args type, and of the node types it takes, has a doc comment", () => {
    const { checked, missing } = undocumentedFields();
    // The walk reaches what it must (inherited and nested fields), or an empty list would pass.
    expect(checked).toEqual(expect.arrayContaining([
      "ClusterArgs.plan",
      "ContainerdRuntimeArgs.config",
      "ContainerdRuntimeArgs.nodes",
      "RuntimeNode.connection",
      "NodeConnection.hostKey",
      "CsiDriverArgs.dependsOn",
    ]));
    expect(missing).toEqual([]);
  }, 60_000);
});
