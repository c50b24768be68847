import { type Entry, getLocation, type Node } from '@bgotink/kdl';
import { type Layout, type Shape, WORKFLOW_LAYOUT } from './kdl-layout.js';
import { describeValue, type SpecPath } from './spec-error.js';

type PlainObject = Record<string, unknown>;

/** Called for every value the converter places: its path in the plain data, the line of the value and of its node. */
export type LineRecorder = (path: SpecPath, valueLine: number | undefined, keyLine: number | undefined) => void;

/** A conversion problem at a place; the caller turns it into a one-line SluiceError. */
export type KdlFail = (path: SpecPath, line: number | undefined, problem: string, syntax?: boolean) => never;

const lineOf = (element: Node | Entry): number | undefined => getLocation(element)?.start.line;

/**
 * Converts a parsed KDL workflow to the plain data a YAML spec gives, laid out as WORKFLOW_LAYOUT
 * says. A node the layout does not know keeps its name as the key, so that the schema refuses it
 * as unknown (with a suggestion) or as a torc feature Sluice lacks, at the node's line.
 */
export function kdlToSpecData(nodes: readonly Node[], fail: KdlFail, record?: LineRecorder): PlainObject {
  const converter = new Converter(fail, record);
  const root: PlainObject = {};
  record?.([], 1, 1);
  converter.fill(root, nodes, WORKFLOW_LAYOUT, []);
  return root;
}

class Converter {
  constructor(
    private readonly fail: KdlFail,
    private readonly record: LineRecorder | undefined,
  ) {}

  /** Fills `target` from sibling nodes; `firstLines` notes where each key was set, to name both places of a repeat. */
  fill(target: PlainObject, nodes: readonly Node[], layout: Layout | null, path: SpecPath): void {
    const firstLines = new Map<string, number | undefined>();
    for (const node of nodes) {
      const name = node.getName();
      // KDL accepts `name:` as a node name, so a YAML file parses as KDL nodes no spec has.
      if (name.endsWith(':')) {
        this.fail(
          path,
          lineOf(node),
          `invalid KDL: node "${name}" looks like YAML; KDL writes ${name.slice(0, -1)} "value"`,
          true,
        );
      }
      const shape = (layout && Object.hasOwn(layout, name) ? layout[name] : undefined) ?? genericShape(node);
      this.apply(target, node, shape, path, firstLines);
    }
  }

  private apply(
    target: PlainObject,
    node: Node,
    shape: Shape,
    path: SpecPath,
    firstLines: Map<string, number | undefined>,
  ): void {
    const name = node.getName();
    const at: SpecPath = [...path, shape.key];
    const line = lineOf(node);
    const args = node.getArgumentEntries();
    const setOnce = (value: unknown, valueLine: number | undefined) => {
      if (Object.hasOwn(target, shape.key)) {
        const first = firstLines.get(shape.key);
        this.fail(at, line, `"${name}" is given twice${first === undefined ? '' : ` (first on line ${first})`}`);
      }
      firstLines.set(shape.key, line);
      target[shape.key] = value;
      this.record?.(at, valueLine, line);
    };
    if (shape.kind !== 'entry' && shape.kind !== 'block') this.refuseProperties(node, at);
    switch (shape.kind) {
      case 'scalar': {
        this.refuseChildren(node, at);
        const entry = this.singleArgument(node, at);
        setOnce(entry.getValue(), lineOf(entry));
        return;
      }
      case 'value':
      case 'json': {
        if (node.children) {
          if (args.length > 0) this.fail(at, line, `"${name}" takes either a value or children, not both`);
          setOnce(this.mapOf(node, at), line);
          return;
        }
        // A bare node is a flag: it reaches the schema, which says what it thinks of it.
        if (args.length === 0) {
          setOnce(true, line);
          return;
        }
        const entry = this.singleArgument(node, at);
        const value = entry.getValue();
        setOnce(
          shape.kind === 'json' && typeof value === 'string' ? this.parseJson(value, at, lineOf(entry)) : value,
          lineOf(entry),
        );
        return;
      }
      case 'list': {
        this.refuseChildren(node, at);
        if (args.length === 0) this.fail(at, line, `"${name}" needs at least one value`);
        const items = this.listAt(target, shape.key, at, line);
        for (const entry of args) {
          this.record?.([...at, items.length], lineOf(entry), line);
          items.push(entry.getValue());
        }
        return;
      }
      case 'map':
        if (args.length > 0) this.fail(at, line, `"${name}" takes children (${name} { key "value" }), not values`);
        setOnce(this.mapOf(node, at), line);
        return;
      case 'block': {
        if (args.length > 0) this.fail(at, line, `"${name}" takes children (${name} { ... }), not values`);
        const object: PlainObject = {};
        setOnce(object, line);
        for (const property of node.getPropertyEntries()) {
          const key = property.getName() as string;
          if (Object.hasOwn(object, key)) this.fail([...at, key], line, `"${key}" is given twice`);
          object[key] = property.getValue();
          this.record?.([...at, key], lineOf(property), lineOf(property));
        }
        this.fill(object, node.children?.nodes ?? [], shape.layout, at);
        return;
      }
      case 'entry': {
        const items = this.listAt(target, shape.key, at, line);
        const itemPath: SpecPath = [...at, items.length];
        const object: PlainObject = {};
        this.record?.(itemPath, line, line);
        items.push(object);
        this.entryName(node, shape.named, object, itemPath);
        const propertyLines = new Map<string, number | undefined>();
        for (const entry of node.entries) {
          const key = entry.getName();
          if (key === null) continue;
          const property = Object.hasOwn(shape.layout, key) ? shape.layout[key] : undefined;
          const propertyKey = property?.kind === 'scalar' ? property.key : key;
          if (Object.hasOwn(object, propertyKey))
            this.fail([...itemPath, propertyKey], line, `"${key}" is given twice`);
          propertyLines.set(propertyKey, line);
          object[propertyKey] = entry.getValue();
          this.record?.([...itemPath, propertyKey], lineOf(entry), lineOf(entry));
        }
        const children = node.children?.nodes ?? [];
        // A child that repeats a property is a repeat like any other.
        const firstLinesOfEntry = new Map(propertyLines);
        for (const child of children) {
          const childName = child.getName();
          const childShape =
            (Object.hasOwn(shape.layout, childName) ? shape.layout[childName] : undefined) ?? genericShape(child);
          this.apply(object, child, childShape, itemPath, firstLinesOfEntry);
        }
        return;
      }
    }
  }

  private entryName(
    node: Node,
    named: 'required' | 'optional' | 'none',
    object: PlainObject,
    itemPath: SpecPath,
  ): void {
    const args = node.getArgumentEntries();
    const name = node.getName();
    const limit = named === 'none' ? 0 : 1;
    if (args.length > limit) {
      const extra = args[limit] as Entry;
      const what = named === 'none' ? 'takes no arguments' : 'takes one argument, its name';
      this.fail(itemPath, lineOf(extra), `"${name}" ${what}; got ${describeValue(extra.getValue())}`);
    }
    const first = args[0];
    if (first) {
      object.name = first.getValue();
      this.record?.([...itemPath, 'name'], lineOf(first), lineOf(first));
    } else if (named === 'required') {
      this.fail(itemPath, lineOf(node), `"${name}" needs its name as the first argument: ${name} "NAME" { ... }`);
    }
  }

  private listAt(target: PlainObject, key: string, at: SpecPath, line: number | undefined): unknown[] {
    const existing = target[key];
    if (existing === undefined) {
      const items: unknown[] = [];
      target[key] = items;
      this.record?.(at, line, line);
      return items;
    }
    if (!Array.isArray(existing)) this.fail(at, line, `"${key}" is given twice`);
    return existing;
  }

  /** A block of `key value` children; several values make a list, nested children a nested map. */
  private mapOf(node: Node, at: SpecPath): PlainObject {
    const object: PlainObject = {};
    for (const child of node.children?.nodes ?? []) {
      const key = child.getName();
      const path: SpecPath = [...at, key];
      const line = lineOf(child);
      if (Object.hasOwn(object, key)) this.fail(path, line, `"${key}" is given twice`);
      this.refuseProperties(child, path);
      const args = child.getArgumentEntries();
      if (child.children) {
        if (args.length > 0) this.fail(path, line, `"${key}" takes either a value or children, not both`);
        object[key] = this.mapOf(child, path);
      } else if (args.length === 0) {
        this.fail(path, line, `"${key}" needs a value`);
      } else {
        object[key] = args.length === 1 ? (args[0] as Entry).getValue() : args.map((entry) => entry.getValue());
      }
      this.record?.(path, line, line);
    }
    return object;
  }

  private singleArgument(node: Node, at: SpecPath): Entry {
    const args = node.getArgumentEntries();
    if (args.length === 1) return args[0] as Entry;
    const name = node.getName();
    if (args.length === 0) return this.fail(at, lineOf(node), `"${name}" needs a value: ${name} "..."`);
    return this.fail(at, lineOf(node), `"${name}" takes one value, got ${args.length}`);
  }

  private refuseChildren(node: Node, at: SpecPath): void {
    if (node.children) this.fail(at, lineOf(node), `"${node.getName()}" takes a value, not children`);
  }

  private refuseProperties(node: Node, at: SpecPath): void {
    const property = node.getPropertyEntries()[0];
    if (property) {
      this.fail(at, lineOf(property), `"${node.getName()}" takes no properties (got ${property.getName()}=...)`);
    }
  }

  private parseJson(text: string, at: SpecPath, line: number | undefined): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      return this.fail(at, line, `expected JSON text (torc's KDL layout keeps data as a JSON string): ${reason}`);
    }
  }
}

/** How a node the layout does not know is read: it only has to reach the schema, which refuses it by name. */
function genericShape(node: Node): Shape {
  const key = node.getName();
  if (node.children || node.getPropertyEntries().length > 0) return { kind: 'block', key, layout: null };
  const count = node.getArgumentEntries().length;
  return count > 1 ? { kind: 'list', key } : { kind: count === 1 ? 'scalar' : 'value', key };
}
