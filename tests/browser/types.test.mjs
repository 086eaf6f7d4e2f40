// The SDK's TypeScript declarations stay honest: web-client/sdk/switchboard.d.ts declares what
// switchboard.js exports at runtime (no more, no less, with the same public members), the
// message types it declares are the protocol's (signaling/src/protocol.rs), and types-sample.ts
// (a customer, an agent, a supervisor and the call button) compiles against switchboard.d.ts
// and widget.d.ts in strict mode, while its `@ts-expect-error` misuses do not (each of them
// would compile if the types were `any`; checked by compiling against an all-`any` stub).
//
//   cd tests/browser && node --test types.test.mjs      (no server, no browser: a few seconds)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const SDK_DIR = path.join(ROOT, 'web-client/sdk');
const SDK_JS = path.join(SDK_DIR, 'switchboard.js');
const SDK_DTS = path.join(SDK_DIR, 'switchboard.d.ts');
const WIDGET_DTS = path.join(SDK_DIR, 'widget.d.ts');
const SAMPLE = path.join(HERE, 'types-sample.ts');
const PROTOCOL_RS = path.join(ROOT, 'signaling/src/protocol.rs');

const COMPILER_OPTIONS = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ES2022,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  types: [],
  // Check our declaration files, not TypeScript's own.
  skipLibCheck: false,
  skipDefaultLibCheck: true,
  noFallthroughCasesInSwitch: true,
};

// One program for everything that reads the real declarations (it is the slow part).
const program = ts.createProgram([SAMPLE, SDK_DTS, WIDGET_DTS], COMPILER_OPTIONS);
const checker = program.getTypeChecker();

function format(diagnostics) {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => ROOT,
    getNewLine: () => '\n',
  });
}

/** The exports of a declaration file: name -> symbol (aliases resolved). */
function declaredExports(file) {
  const source = program.getSourceFile(file);
  assert.ok(source, `${file} is not in the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  assert.ok(moduleSymbol, `${path.relative(ROOT, file)} is not a module`);
  const out = new Map();
  for (const s of checker.getExportsOfModule(moduleSymbol)) {
    out.set(s.name, s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  }
  return out;
}

const isValue = (s) => (s.flags & ts.SymbolFlags.Value) !== 0;

/** Every own property name along an object's prototype chain, up to Object.prototype. */
function runtimeMembers(obj) {
  const names = new Set();
  // Stop at the built-ins (Error.prototype's toString is not the SDK's to declare).
  for (let o = obj; o && o !== Object.prototype && o !== Error.prototype; o = Object.getPrototypeOf(o)) {
    for (const n of Object.getOwnPropertyNames(o)) names.add(n);
  }
  names.delete('constructor');
  return names;
}

/** The public members TypeScript sees on instances of an exported class. */
function declaredMembers(classSymbol) {
  const type = checker.getDeclaredTypeOfSymbol(classSymbol);
  const members = new Map();
  for (const p of checker.getPropertiesOfType(type)) {
    members.set(p.name, {
      method: (p.flags & ts.SymbolFlags.Method) !== 0,
      optional: (p.flags & ts.SymbolFlags.Optional) !== 0,
    });
  }
  return members;
}

/** A runtime instance of each exported class, built without a browser. */
function instances(sdk) {
  // PeerLink builds an RTCPeerConnection; nothing else here touches browser APIs.
  globalThis.RTCPeerConnection ??= class { close() {} };
  const opts = { url: 'ws://127.0.0.1:9/ws' };
  return {
    SwitchboardError: new sdk.SwitchboardError('timeout', 'x', 'r1'),
    SwitchboardClient: new sdk.SwitchboardClient(opts),
    PeerLink: new sdk.PeerLink(new sdk.SwitchboardClient(opts)),
    Transcript: new sdk.Transcript('0123456789abcdef'),
    Conversation: new sdk.Conversation('0123456789abcdef'),
    CustomerCall: new sdk.CustomerCall(opts),
    AgentPhone: new sdk.AgentPhone(opts),
    SupervisorConsole: new sdk.SupervisorConsole(opts),
  };
}

test('switchboard.d.ts declares exactly the runtime exports of switchboard.js', async () => {
  const sdk = await import(pathToFileURL(SDK_JS).href);
  const runtime = Object.keys(sdk).sort();
  const declared = declaredExports(SDK_DTS);
  const declaredValues = [...declared].filter(([, s]) => isValue(s)).map(([n]) => n).sort();
  assert.deepEqual(declaredValues, runtime,
    'value exports of switchboard.d.ts (left) differ from switchboard.js (right)');

  for (const name of runtime) {
    const s = declared.get(name);
    const value = sdk[name];
    if (s.flags & ts.SymbolFlags.Class) {
      assert.equal(typeof value, 'function', `${name} is declared a class`);
      assert.match(Function.prototype.toString.call(value), /^class\b/, `${name} is declared a class`);
    } else if (s.flags & ts.SymbolFlags.Function) {
      assert.equal(typeof value, 'function', `${name} is declared a function`);
      assert.doesNotMatch(Function.prototype.toString.call(value), /^class\b/, `${name} is a class at runtime`);
    } else {
      assert.notEqual(typeof value, 'function', `${name} is declared a constant but is a function`);
    }
  }
  // A literal-typed constant says its value.
  const version = checker.getTypeOfSymbol(declared.get('PROTOCOL_VERSION'));
  assert.ok(version.isNumberLiteral(), 'PROTOCOL_VERSION is declared as a number literal');
  assert.equal(version.value, sdk.PROTOCOL_VERSION);
});

test('the classes of switchboard.d.ts declare the public members the runtime ones have', async () => {
  const sdk = await import(pathToFileURL(SDK_JS).href);
  const declared = declaredExports(SDK_DTS);
  const built = instances(sdk);
  const classes = [...declared].filter(([, s]) => s.flags & ts.SymbolFlags.Class).map(([n]) => n).sort();
  assert.deepEqual(Object.keys(built).sort(), classes, 'every exported class is instantiated here');

  const problems = [];
  for (const name of classes) {
    const members = declaredMembers(declared.get(name));
    const instance = built[name];
    const present = runtimeMembers(instance);
    // Runtime -> declared: public fields, methods and getters (a leading _ marks internals).
    for (const m of present) {
      if (m.startsWith('_') || (name === 'SwitchboardError' && m === 'stack')) continue;
      if (!members.has(m)) problems.push(`${name}.${m} exists at runtime but is not declared`);
    }
    // Declared -> runtime: methods exist as functions, required properties exist.
    for (const [m, { method, optional }] of members) {
      if (method) {
        if (typeof instance[m] !== 'function') problems.push(`${name}.${m}() is declared but is not a method at runtime`);
      } else if (!optional && !present.has(m) && !(m in instance)) {
        problems.push(`${name}.${m} is declared but does not exist at runtime`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('widget.d.ts declares types only (widget.js exports nothing)', () => {
  const values = [...declaredExports(WIDGET_DTS)].filter(([, s]) => isValue(s)).map(([n]) => n);
  assert.deepEqual(values, []);
});

/** The snake_case `type`s of a serde-tagged Rust enum in protocol.rs. */
function rustEnumTypes(source, enumName) {
  const start = source.indexOf(`pub enum ${enumName} {`);
  assert.ok(start >= 0, `pub enum ${enumName} not found in protocol.rs`);
  const body = source.slice(start, source.indexOf('\n}\n', start));
  return [...body.matchAll(/^ {4}([A-Z][A-Za-z0-9]*)\b/gm)]
    .map(([, v]) => v.replace(/(?<!^)([A-Z])/g, '_$1').toLowerCase())
    .sort();
}

/** The string-literal `type`s of an interface map's keys, or of a union's members. */
function literalTypes(type) {
  const members = type.isUnion() ? type.types : [type];
  return members.map((t) => {
    const literal = checker.getTypeOfSymbol(checker.getPropertyOfType(t, 'type'));
    assert.ok(literal.isStringLiteral(), `a member of the union has a non-literal type: ${checker.typeToString(t)}`);
    return literal.value;
  }).sort();
}

test('the declared message types are the protocol\'s (signaling/src/protocol.rs)', () => {
  const rust = fs.readFileSync(PROTOCOL_RS, 'utf8');
  const declared = declaredExports(SDK_DTS);

  const serverMap = checker.getDeclaredTypeOfSymbol(declared.get('ServerMessages'));
  const serverKeys = checker.getPropertiesOfType(serverMap).map((p) => p.name).sort();
  assert.deepEqual(serverKeys, rustEnumTypes(rust, 'ServerMessage'),
    'ServerMessages in switchboard.d.ts (left) vs enum ServerMessage in protocol.rs (right)');
  for (const p of checker.getPropertiesOfType(serverMap)) {
    assert.deepEqual(literalTypes(checker.getTypeOfSymbol(p)), [p.name], `ServerMessages.${p.name} has type '${p.name}'`);
  }

  const clientUnion = checker.getDeclaredTypeOfSymbol(declared.get('ClientMessage'));
  assert.deepEqual(literalTypes(clientUnion), rustEnumTypes(rust, 'ClientMessage'),
    'ClientMessage in switchboard.d.ts (left) vs enum ClientMessage in protocol.rs (right)');
});

test('types-sample.ts compiles against the declarations (strict, dom + es2022)', () => {
  const diagnostics = ts.getPreEmitDiagnostics(program);
  assert.equal(diagnostics.length, 0, `\n${format(diagnostics)}`);
});

test('every @ts-expect-error in types-sample.ts would compile if the SDK were typed any', () => {
  const sample = fs.readFileSync(SAMPLE, 'utf8');
  const directives = [...sample.matchAll(/^\s*\/\/ @ts-expect-error\b/gm)].length;
  assert.ok(directives >= 10, `types-sample.ts has only ${directives} @ts-expect-error lines`);

  // The same exports, every one `any`.
  const stub = [...declaredExports(SDK_DTS)]
    .map(([name, s]) => (isValue(s) ? `export declare const ${name}: any;` : `export type ${name} = any;`))
    .join('\n');
  const widgetStub = [...declaredExports(WIDGET_DTS)].map(([name]) => `export type ${name} = any;`).join('\n')
    + "\ndeclare global { interface HTMLElementTagNameMap { 'switchboard-call': any } }\n";
  const stubs = new Map([[SDK_DTS, `${stub}\n`], [WIDGET_DTS, widgetStub]]);
  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, lang, ...rest) => {
    const text = stubs.get(path.resolve(file));
    return text != null ? ts.createSourceFile(file, text, lang) : getSourceFile(file, lang, ...rest);
  };
  host.readFile = ((read) => (file) => stubs.get(path.resolve(file)) ?? read(file))(host.readFile.bind(host));
  // Callbacks of an `any` function have implicitly-any parameters, and `instanceof` an `any`
  // does not narrow a caught `unknown`: allow both, or the stub would fail for the wrong reason.
  const anyOptions = { ...COMPILER_OPTIONS, noImplicitAny: false, useUnknownInCatchVariables: false };
  const anyProgram = ts.createProgram([SAMPLE], anyOptions, host, program);
  const diagnostics = ts.getPreEmitDiagnostics(anyProgram);
  const unused = diagnostics.filter((d) => d.code === 2578); // Unused '@ts-expect-error' directive.
  const other = diagnostics.filter((d) => d.code !== 2578);
  assert.equal(other.length, 0, `the sample does not compile against the any stub:\n${format(other)}`);
  assert.equal(unused.length, directives,
    'some @ts-expect-error lines fail even with an all-any SDK (they test nothing about its types)');
});
