// GNU long flags: --name value, --name=value, --flag (boolean), repeatable flags collected in order.
export class UsageError extends Error {}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
}

export function parseArgs(argv: string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (booleanFlags.includes(name)) value = 'true';
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positional, flags };
}

/** Typed access to parsed flags; every unknown flag is an error naming it. */
export class Flags {
  constructor(private readonly parsed: ParsedArgs, known: readonly string[]) {
    for (const name of parsed.flags.keys()) {
      if (!known.includes(name)) throw new UsageError(`unknown flag --${name}`);
    }
  }
  get positional(): string[] {
    return this.parsed.positional;
  }
  has(name: string): boolean {
    return this.parsed.flags.has(name);
  }
  all(name: string): string[] {
    return this.parsed.flags.get(name) ?? [];
  }
  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    const v = this.parsed.flags.get(name);
    return v ? v[v.length - 1] : fallback;
  }
  require(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  }
  number(name: string, fallback?: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${v}'`);
    return n;
  }
  integer(name: string, fallback?: number): number | undefined {
    const n = this.number(name, fallback);
    if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got '${n}'`);
    return n;
  }
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const v = this.string(name, fallback);
    if (!choices.includes(v as T)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got '${v}'`);
    return v as T;
  }
  boolean(name: string): boolean {
    const v = this.string(name);
    if (v === undefined) return false;
    if (v === 'true' || v === 'on') return true;
    if (v === 'false' || v === 'off') return false;
    throw new UsageError(`--${name} must be on or off, got '${v}'`);
  }
}
